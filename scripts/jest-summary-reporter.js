'use strict';
/**
 * A jest reporter that ends every `npm test` with the skipped tests, each with the reason its title
 * carries (an unavailable backend says why), then one plain line, counted in tests
 * (skipped = skipped + todo):
 *   N passed, N failed, N skipped
 * A test file that could not run at all fails no test, so it gets a line of its own (jest still
 * exits non-zero for it). Jest always runs its own summary reporter after custom ones, so the
 * lines are written when the process exits, synchronously, to come last.
 */
const fs = require('fs');
const path = require('path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const lines = [];
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status === 'pending' || test.status === 'todo') {
          lines.push(`skipped: ${path.relative(process.cwd(), file.testFilePath)}: ${test.fullName}`);
        }
      }
    }
    if (results.numRuntimeErrorTestSuites > 0) {
      lines.push(`${results.numRuntimeErrorTestSuites} test file(s) failed to run`);
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    lines.push(`${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`);
    process.once('exit', () => fs.writeSync(1, `\n${lines.join('\n')}\n`));
  }
}

module.exports = SummaryReporter;
