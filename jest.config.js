// One suite for every backend: STRIDEKIT_BACKEND picks the backend the conformance tests run on.
// The vendor plugins find their runtimes where a user has them; the suite points them at this checkout's
// .venv-openvino/ and .venv-cuda/ unless the variables are set. Set here, in the process that starts the
// test files, so that every test process and its native getenv see them.
require('./scripts/checkout-runtimes');

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
