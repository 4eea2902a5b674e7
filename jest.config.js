// One suite for every backend: STRIDEKIT_BACKEND picks the backend the conformance tests run on.
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  testTimeout: 120000,
  // The native addon holds a process-wide thread pool: run test files in one process, one at a time.
  maxWorkers: 1,
};
