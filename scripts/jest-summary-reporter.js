'use strict';
/**
 * A jest reporter that ends every `npm test` with one plain line, counted in tests
 * (skipped = skipped + todo):
 *   N passed, N failed, N skipped
 * A test file that could not run at all fails no test, so it gets a line of its own (jest still
 * exits non-zero for it). Jest always runs its own summary reporter after custom ones, so the
 * line is written when the process exits, synchronously, to come last.
 */
const fs = require('fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const lines = [`${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`];
    if (results.numRuntimeErrorTestSuites > 0) {
      lines.unshift(`${results.numRuntimeErrorTestSuites} test file(s) failed to run`);
    }
    process.once('exit', () => fs.writeSync(1, `\n${lines.join('\n')}\n`));
  }
}

module.exports = SummaryReporter;
