/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The AWS emulator suite needs a moto server (`npm run test:aws`) and the browser suite
  // Chromium (`npm run test:browser`): neither runs in `npm test`.
  testPathIgnorePatterns: ['/node_modules/', '/test/aws/', '/test/browser/'],
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // @middy/core 6 ships ESM only; let swc turn it into CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/setup-env.js'],
  testTimeout: 30000,
};
