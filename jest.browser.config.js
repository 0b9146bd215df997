/**
 * The browser suite (`npm run test:browser`): the dashboard in Debian's Chromium, driven by
 * playwright-core, against the local runtime started in-process. Needs CHROMIUM_PATH or
 * /usr/bin/chromium (`apt-get install -y --no-install-recommends chromium`) and a built
 * dashboard (the npm script builds it when stale). Same transform and setup as `npm test`.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/browser'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Starting Chromium and the local stack takes a few seconds each.
  testTimeout: 60000,
};
