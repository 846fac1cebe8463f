// One hello-world request without its socket (socketless-request.cjs), in a
// loop, for the request-path benchmark, in one of the setups of
// hello-setup.cjs (argv[2]), in batches of 100 between which the event loop
// runs what they deferred. Leaves out the socket and the parser: the server
// benchmark has those; this one has the instrumentation's own per-request
// code, with little noise on a shared machine. Prints
// "result <median CPU ns per request> <min>", then "requests <all it made>"
// (warm-up included; the instructions benchmark divides by it).
'use strict';

const mode = process.argv[2];
const REQUESTS = Number(process.env.BENCH_PATH_REQUESTS ?? 100000);
require('./hello-setup.cjs').setUp(mode);

const { setImmediate } = require('node:timers');
const { helloServer, serveRequest } = require('./socketless-request.cjs');

const hello = helloServer();
if (mode === 'propagation') require('./propagate-context.cjs').propagateContext(hello.server);
const HEADERS = ['Host', '127.0.0.1:8080', 'User-Agent', 'bench', 'Accept', '*/*'];

function oneRequest() {
  serveRequest(hello, [...HEADERS]);
}

/** `n` requests, in batches between which the event loop runs what they deferred (ticks, immediates): counted too. */
async function requests(n) {
  for (let done = 0; done < n; done += BATCH) {
    for (let i = 0; i < BATCH; i++) oneRequest();
    await new Promise(setImmediate);
  }
}
const BATCH = 100;

async function main() {
  await requests(REQUESTS / 5);
  const rounds = [];
  for (let round = 0; round < 7; round++) {
    const before = process.cpuUsage();
    await requests(REQUESTS);
    const used = process.cpuUsage(before);
    rounds.push(((used.user + used.system) * 1000) / REQUESTS);
  }
  rounds.sort((a, b) => a - b);
  process.stdout.write(`result ${rounds[3]} ${rounds[0]}\nrequests ${REQUESTS / 5 + 7 * REQUESTS}\n`);
  process.exit(0);
}

void main();
