// The cold debug path without sockets, for the cold benchmark: a fresh
// process with TimingInstrumentation (hello-setup.cjs's `timing`) pushes
// hello-world requests through Node's request path as request-path.cjs
// does (real IncomingMessage and ServerResponse objects, the
// http.server.request.start publication, server.emit('request'), the
// response's finish and close), 1 in 100 with a debug header when argv[2]
// is "debugged", in 8 windows (BENCH_COLD_WINDOWS) of 50,000 requests
// (BENCH_COLD_WINDOW), in batches of 100 between which the event loop
// runs. Every run makes the same requests, so windows compare across runs
// whatever the machine's load.
// Prints "window <process CPU us> <main thread CPU us> <other threads CPU
// us>" per window: the other threads are V8's (its optimising compiler
// runs there), read from /proc (-1 where there is none).
'use strict';

process.env.DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN ??= 'bench';
const debugged = process.argv[2] === 'debugged';
const WINDOWS = Number(process.env.BENCH_COLD_WINDOWS ?? 8);
const PER_WINDOW = Number(process.env.BENCH_COLD_WINDOW ?? 50000);
const DEBUG_EVERY = 100;
const BATCH = 100;
require('./hello-setup.cjs').setUp('timing');

const fs = require('node:fs');
const { setImmediate } = require('node:timers');
const { helloServer, serveRequest } = require('./socketless-request.cjs');

const hello = helloServer();
const PLAIN = ['Host', '127.0.0.1:8080', 'User-Agent', 'bench', 'Accept', '*/*'];
// From a loopback peer, debug requests need no token (they send it anyway).
const DEBUG = [
  ...PLAIN,
  'X-Request-Debug',
  '*',
  'X-Request-Debug-Token',
  process.env.DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN,
];

function oneRequest(debug) {
  const res = serveRequest(hello, debug ? [...DEBUG] : [...PLAIN]);
  // The header block Node wrote (the output header goes with writeHead's arguments, not always through setHeader).
  if (debug && !/^x-request-debug-output:/im.test(res._header)) throw new Error('a debug request got no output');
}

/** CPU us of the main thread and of the others, from /proc; undefined where there is none. */
function threadTimes() {
  let main = 0;
  let other = 0;
  try {
    const ticksPerUs = 1e6 / 100; // USER_HZ: 100 on Linux
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const us = (Number(fields[11]) + Number(fields[12])) * ticksPerUs;
      if (Number(tid) === process.pid) main += us;
      else other += us;
    }
  } catch {
    return undefined;
  }
  return { main, other };
}

async function main() {
  let n = 0;
  for (let w = 0; w < WINDOWS; w++) {
    const cpu = process.cpuUsage();
    const threads = threadTimes();
    for (let done = 0; done < PER_WINDOW; done += BATCH) {
      for (let i = 0; i < BATCH; i++) oneRequest(debugged && n++ % DEBUG_EVERY === 0);
      await new Promise(setImmediate);
    }
    const used = process.cpuUsage(cpu);
    const after = threadTimes();
    const main = threads && after ? after.main - threads.main : -1;
    const other = threads && after ? after.other - threads.other : -1;
    process.stdout.write(`window ${used.user + used.system} ${main} ${other}\n`);
  }
  process.exit(0);
}

void main();
