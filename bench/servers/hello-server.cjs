// A hello-world node:http server for the server benchmark, in one of the
// setups of hello-setup.cjs (argv[2]). Prints "ready <url>" when listening;
// answers "stats" on stdin with "stats <cpu microseconds> <requests served>
// <spans exported>".
'use strict';

const mode = process.argv[2];
// Exit cleanly on SIGINT, so that node --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
require('./hello-setup.cjs').setUp(mode);

const http = require('node:http');
const { answerStats, countRequest } = require('./stats.cjs');
const server = http.createServer((_req, res) => {
  countRequest();
  res.end('hello world');
});
if (mode === 'propagation') require('./propagate-context.cjs').propagateContext(server);
answerStats();
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready http://127.0.0.1:${server.address().port}\n`);
});
