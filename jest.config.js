// One suite for every backend: STRIDEKIT_BACKEND picks the backend the conformance tests run on.
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  testTimeout: 120000,
  // The native addon holds a process-wide thread pool: run test files in one process, one at a time.
  maxWorkers: 1,
  // The summary reporter prints the last line of every run, `N passed, N failed, N skipped`, which
  // scripts/test-backends.sh adds up. Here rather than on the command line, where jest's array option
  // would swallow the test files named after `npm test --`.
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
