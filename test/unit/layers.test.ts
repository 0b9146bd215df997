import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../lib/function-defaults';

/**
 * The layer rules of eslint.config.mjs (docs/design.md §3) refuse what they should and allow
 * what the layers need: each case lints one import line as if it stood in a file of that folder,
 * with the project's own ESLint configuration (run in a child process: ESLint loads its ES module
 * config with a dynamic import, which jest's module sandbox does not offer).
 */

const LINT = `
const { ESLint } = require('eslint');
const cases = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
(async () => {
  const out = [];
  for (const [file, line] of cases) {
    const [r] = await eslint.lintText(line + '\\nexport const used = x;\\n', { filePath: process.cwd() + '/' + file });
    out.push(r.messages.some((m) => m.ruleId === 'no-restricted-imports'));
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

const cases: Array<[file: string, line: string, refused: boolean]> = [
  // The domain: the contract, its own files, zod, node:crypto, ipaddr.js; nothing else.
  ['lambdas/shared/domain/x.ts', "import { x } from './model';", false],
  ['lambdas/shared/domain/x.ts', "import { x } from '../contract';", false],
  ['lambdas/shared/domain/x.ts', "import { x } from '../sample-payloads';", false],
  ['lambdas/shared/domain/x.ts', "import { x } from 'zod';", false],
  ['lambdas/shared/domain/x.ts', "import * as x from 'zod/mini';", false],
  ['lambdas/shared/domain/x.ts', "import { x } from 'node:crypto';", false],
  ['lambdas/shared/domain/x.ts', "import x from 'ipaddr.js';", false],
  ['lambdas/shared/domain/x.ts', "import { x } from '@aws-sdk/lib-dynamodb';", true],
  ['lambdas/shared/domain/x.ts', "import { x } from '../adapters/http-sender';", true],
  ['lambdas/shared/domain/x.ts', "import { x } from '../composition/env';", true],
  ['lambdas/shared/domain/x.ts', "import { x } from 'node:dns';", true],
  ['lambdas/shared/domain/x.ts', "import type { x } from 'undici';", true],
  // Adapters: no composition, no handler.
  ['lambdas/shared/adapters/x.ts', "import { x } from '../domain/ports';", false],
  ['lambdas/shared/adapters/x.ts', "import { x } from '@aws-sdk/client-sqs';", false],
  ['lambdas/shared/adapters/x.ts', "import { x } from '../composition/env';", true],
  ['lambdas/shared/adapters/x.ts', "import { x } from '../../api/app';", true],
  ['lambdas/shared/adapters/x.ts', "import { x } from '../../reconciler/app';", true],
  // Any Lambda code: nothing of lib/, local/, test/ or the tools.
  ['lambdas/api/x.ts', "import { x } from '../shared/domain/webhook-service';", false],
  ['lambdas/api/x.ts', "import { x } from '../../lib/config';", true],
  ['lambdas/delivery/x.ts', "import { x } from '../../local/stack';", true],
  ['lambdas/shared/composition/x.ts', "import { x } from '../../../test/helpers/eventually';", true],
  // The CDK app: only the contract of the Lambda code.
  ['lib/x.ts', "import { x } from '../lambdas/shared/contract';", false],
  ['lib/constructs/x.ts', "import { x } from '../../lambdas/shared/contract';", false],
  ['lib/constructs/x.ts', "import { x } from '../../lambdas/api/http';", true],
  ['lib/x.ts', "import { x } from '../local/stack';", true],
  ['bin/x.ts', "import { x } from '../test/infra/app-fixture';", true],
  // Tools and the local runtime: no test/.
  ['scripts/x.ts', "import { x } from '../test/helpers/receiver';", true],
  ['bench/x.ts', "import { x } from '../test/helpers/receiver';", true],
  ['local/x.ts', "import { x } from '../test/helpers/receiver';", true],
  ['scripts/x.ts', "import { x } from '../local/stack';", false],
  // The dashboard: the contract, the sample payloads and the payload-filter matcher; no other server code.
  ['dashboard/src/x.ts', "import { x } from '../../lambdas/shared/contract';", false],
  ['dashboard/src/x.ts', "import { x } from '../../lambdas/shared/domain/event-filter';", false],
  ['dashboard/src/components/x.ts', "import { x } from '../../../lambdas/shared/sample-payloads';", false],
  ['dashboard/src/x.ts', "import { x } from '../../lambdas/shared/domain/webhook-schemas';", true],
  ['dashboard/src/x.ts', "import { x } from 'node:crypto';", true],
];

describe('layer rules (npm run lint)', () => {
  let verdicts: boolean[] = [];
  beforeAll(() => {
    const pairs = cases.map(([file, line]) => [file, line]);
    verdicts = JSON.parse(execFileSync(process.execPath, ['-e', LINT, JSON.stringify(pairs)], { cwd: PROJECT_ROOT, encoding: 'utf8' })) as boolean[];
  });

  it.each(cases.map((c, i) => [...c, i] as const))('%s: %s → refused %s', (_file, _line, refused, i) => {
    expect(verdicts[i]).toBe(refused);
  });
});
