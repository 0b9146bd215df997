import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Lambda code never imports the CDK app, the local runtime, tests, tools or the dashboard. */
const LAMBDAS_OUTWARD = {
  regex: '^(\\.\\./)+(lib|local|test|bench|scripts|dashboard)(/|$)',
  message: 'Lambda code does not import lib/, local/, test/, bench/, scripts/ or the dashboard.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'coverage/', '.webhooks-data/', 'dashboard/dist/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The dashboard is bundled for the browser: no Node built-ins, and of the server code only
    // the dependency-free contract, sample payloads and payload-filter matcher (so limits, event
    // types and filter semantics cannot drift).
    files: ['dashboard/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The dashboard runs in the browser.' },
            {
              regex: '^(\\.\\./)+lambdas/(?!shared/(contract|sample-payloads|domain/event-filter)$)',
              message: 'Only lambdas/shared/contract, lambdas/shared/sample-payloads and the dependency-free payload filter matcher (domain/event-filter) are shared with the dashboard.',
            },
          ],
        },
      ],
    },
  },
  // --- The layers (docs/design.md §3): each folder's imports, enforced. ---
  // Flat config does not merge a rule's options: a later block for the same files replaces an
  // earlier one, so each block below repeats the rules of the folders that contain it.
  {
    // Lambda code never reaches into the CDK app, the local runtime, tests or tools.
    files: ['lambdas/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [LAMBDAS_OUTWARD] }],
    },
  },
  {
    // Adapters implement the domain's ports; they never import the composition layer or a handler.
    files: ['lambdas/shared/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            LAMBDAS_OUTWARD,
            { regex: '^\\.\\./composition(/|$)', message: 'Adapters do not import the composition layer.' },
            { regex: '^(\\.\\./){2,}(api|authorizer|delivery|retry|reconciler)/', message: 'Adapters do not import a handler.' },
          ],
        },
      ],
    },
  },
  {
    // The domain is pure: the contract, its own files, zod, node:crypto and ipaddr.js (address
    // arithmetic, no I/O). Storage, queues, the network and telemetry come in through ports.ts.
    files: ['lambdas/shared/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!(\\./[^/]+|\\.\\./(contract|sample-payloads)|zod|zod/mini|node:crypto|ipaddr\\.js)$)',
              message: 'The domain imports only the contract, its own files, zod, node:crypto and ipaddr.js; anything else is a port (domain/ports.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    // The CDK app shares only the dependency-free contract with the Lambda code, and never
    // imports the local runtime, tests or tools.
    files: ['lib/**/*.ts', 'bin/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+lambdas/(?!shared/contract$)', message: 'lib/ imports only lambdas/shared/contract from the Lambda code.' },
            { regex: '^(\\.\\./)+(local|test|bench|scripts|dashboard)(/|$)', message: 'lib/ does not import the local runtime, tests or tools.' },
          ],
        },
      ],
    },
  },
  {
    // Tools and the local runtime do not depend on the test suite.
    files: ['scripts/**/*.ts', 'bench/**/*.ts', 'local/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+test(/|$)', message: 'Only tests import test/.' }] }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // focused or skipped tests never land
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only' },
        { object: 'it', property: 'only' },
        { object: 'test', property: 'only' },
        { object: 'describe', property: 'skip' },
        { object: 'it', property: 'skip' },
        { object: 'test', property: 'skip' },
      ],
      'no-restricted-globals': ['error', 'fdescribe', 'fit', 'xdescribe', 'xit', 'xtest'],
    },
  },
);
