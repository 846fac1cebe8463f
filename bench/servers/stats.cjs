// Shared by the benchmark servers: answers "stats" on stdin with
// "stats <cpu microseconds> <requests served>", and counts requests.
'use strict';

let served = 0;

/** Counts one served request. */
function countRequest() {
  served++;
}

/** Starts answering "stats" lines on stdin. */
function answerStats() {
  require('node:readline')
    .createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line !== 'stats') return;
      const cpu = process.cpuUsage();
      process.stdout.write(`stats ${cpu.user + cpu.system} ${served}\n`);
    });
}

module.exports = { countRequest, answerStats };
