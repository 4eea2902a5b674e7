'use strict';
// The driver's side of worker.js: one long-lived child process per backend, started again after it
// dies, so that fast-check can go on (and shrink) after a crash. A case fails when the child
// exits or is killed while running it, when it does not answer within `timeoutMs` (killed: a hang),
// or when its resident memory passes `maxRssMb` (killed), besides failing its own check.

const { fork } = require('child_process');
const fs = require('fs');
const path = require('path');

const WORKER = path.join(__dirname, 'worker.js');
const STDERR_KEPT = 4000;

function rssMb(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch (e) {
    return 0; // not Linux, or already gone
  }
}

class Child {
  constructor(backend, { timeoutMs = 30000, maxRssMb = 4096 } = {}) {
    this.backend = backend;
    this.timeoutMs = timeoutMs;
    this.maxRssMb = maxRssMb;
    this.proc = null;
    this.nextId = 1;
    this.pending = null;
    this.stderr = '';
    this.starts = 0;
  }

  start() {
    this.stderr = '';
    this.starts += 1;
    const proc = fork(WORKER, [], {
      env: { ...process.env, STRIDEKIT_BACKEND: this.backend },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    proc.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_KEPT);
    });
    proc.on('error', () => {}); // a send to a child that just died: its 'exit' reports the case
    proc.on('message', (msg) => {
      if (this.pending && msg.id === this.pending.id) this.settle(msg);
    });
    proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.proc = null;
      if (this.pending && this.pending.proc === proc) {
        const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
        const why = this.pending.killedFor ? ` (${this.pending.killedFor})` : '';
        const tail = this.stderr.trim() ? `\nchild stderr (last ${STDERR_KEPT} characters):\n${this.stderr.trim()}` : '';
        this.settle({ ok: false, crashed: true, message: `the child process ${how}${why} while running the case${tail}` });
      }
    });
    this.proc = proc;
  }

  settle(verdict) {
    const p = this.pending;
    this.pending = null;
    clearTimeout(p.timer);
    clearInterval(p.poll);
    p.resolve(verdict);
  }

  kill(reason) {
    if (this.pending) this.pending.killedFor = reason;
    if (this.proc) this.proc.kill('SIGKILL');
  }

  /** Resolves to the case's verdict: { ok, note?, message?, crashed?, harness? }. */
  run(c) {
    if (!this.proc) this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      const pending = { id, resolve, proc: this.proc, killedFor: null };
      pending.timer = setTimeout(() => this.kill(`no answer after ${this.timeoutMs / 1000} s: a hang`), this.timeoutMs);
      pending.poll = setInterval(() => {
        const mb = rssMb(pending.proc.pid);
        if (mb > this.maxRssMb) this.kill(`resident memory ${mb.toFixed(0)} MB passed --max-rss ${this.maxRssMb} MB`);
      }, 100);
      this.pending = pending;
      this.proc.send({ id, case: c });
    });
  }

  stop() {
    if (this.proc) {
      this.proc.disconnect();
      this.proc = null;
    }
  }
}

module.exports = { Child };
