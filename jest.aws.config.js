/**
 * The AWS emulator suite (`npm run test:aws`): the production SQS, EventBridge and DynamoDB
 * adapters against a moto server that the suite starts itself from MOTO_BIN. Same transform and
 * setup as `npm test` (jest.config.js), which leaves test/aws out.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/aws'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Redeliveries after visibility timeouts and a redrive after maxReceiveCount take real seconds.
  testTimeout: 120000,
};
