// One hello-world request without its socket, in a loop, for the
// request-path benchmark: what Node does between parsing a request and its
// handler returning (the http.server.request.start publication, then
// server.emit('request')), on real IncomingMessage and ServerResponse
// objects over a socket that is not connected (the response is buffered,
// never written), in one of the setups of hello-setup.cjs (argv[2]), in
// batches of 100 between which the event loop runs what they deferred.
// The response's finish and close are emitted as Node would once it is
// written (spans end there). Leaves out the socket and the parser: the
// server benchmark has those; this one
// has the instrumentation's own per-request code, with little noise on a
// shared machine. Prints
// "result <median CPU ns per request> <min>".
'use strict';

const mode = process.argv[2];
const REQUESTS = Number(process.env.BENCH_PATH_REQUESTS ?? 100000);
require('./hello-setup.cjs').setUp(mode);

const diagnostics = require('node:diagnostics_channel');
const http = require('node:http');
const net = require('node:net');
const { setImmediate } = require('node:timers');

const requestStart = diagnostics.channel('http.server.request.start');
const responseFinish = diagnostics.channel('http.server.response.finish');
const server = http.createServer((_req, res) => {
  res.end('hello world');
});
if (mode === 'propagation') require('./propagate-context.cjs').propagateContext(server);
const socket = new net.Socket();

function oneRequest() {
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/';
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.rawHeaders = ['Host', '127.0.0.1:8080', 'User-Agent', 'bench', 'Accept', '*/*'];
  const res = new http.ServerResponse(req);
  // As Node's parser does before emitting 'request'.
  if (requestStart.hasSubscribers) requestStart.publish({ request: req, response: res, socket, server });
  server.emit('request', req, res);
  // As Node does once the response is written: its finish, then its close.
  res.emit('finish');
  if (responseFinish.hasSubscribers) responseFinish.publish({ request: req, response: res, socket, server });
  res.emit('close');
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
  process.stdout.write(`result ${rounds[3]} ${rounds[0]}\n`);
  process.exit(0);
}

void main();
