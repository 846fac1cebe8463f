// Shared by the benchmark servers: answers "stats" on stdin with
// "stats <cpu microseconds> <requests served> <spans exported> <user cpu
// microseconds>", and counts requests. The spans are those the SDK of
// sdk.cjs exported (0 without one), ended ones still queued included. CPU
// is user plus system time; the user part is given alone too (see
// bench/load.ts for why it is the fairer figure between setups).
'use strict';

let served = 0;

/** Counts one served request. */
function countRequest() {
  served++;
}

/** Starts answering "stats" lines on stdin. */
function answerStats() {
  const { exportedSpans } = require('./sdk.cjs');
  require('node:readline')
    .createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line !== 'stats') return;
      const cpu = process.cpuUsage();
      const requests = served;
      exportedSpans().then(
        (spans) => process.stdout.write(`stats ${cpu.user + cpu.system} ${requests} ${spans} ${cpu.user}\n`),
        () => process.stdout.write(`stats ${cpu.user + cpu.system} ${requests} NaN ${cpu.user}\n`),
      );
    });
}

module.exports = { countRequest, answerStats };
