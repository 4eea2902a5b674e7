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

/**
 * Writes all of text to fd. stdout may be a non-blocking pipe (`npm test | tee log`): one writeSync
 * then writes only what the pipe has room for (64 KiB, a few hundred skipped lines) or throws EAGAIN,
 * and the rest, the summary line included, would be lost. So: write, and wait for the reader, until done.
 */
function writeAll(fd, text) {
  const bytes = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let offset = 0; offset < bytes.length;) {
    try {
      offset += fs.writeSync(fd, bytes, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1); // 1 ms for the reader to drain the pipe
    }
  }
}

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
    process.once('exit', () => writeAll(1, `\n${lines.join('\n')}\n`));
  }
}

module.exports = SummaryReporter;
