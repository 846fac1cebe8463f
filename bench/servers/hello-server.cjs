// A hello-world node:http server for the server benchmark, in one of the
// setups of hello-setup.cjs (argv[2]). argv[3], if given, adds work to the
// handler: "spans=N" starts and ends N OpenTelemetry spans in turn (children
// of the active span), "activeSpans=N" the same through startActiveSpan (each
// active while it runs, as a timing context is: what starts inside nests
// under it), "contexts=N" enters and leaves N timing contexts in
// turn (children of the debugged request's root), so that one span and one
// timing context compare inside a real server. Prints "ready <url>" when
// listening; answers "stats" on stdin with its CPU time, requests served and
// spans exported (stats.cjs).
'use strict';

const mode = process.argv[2];
// Exit cleanly on SIGINT, so that node --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
require('./hello-setup.cjs').setUp(mode);

const http = require('node:http');
const { answerStats, countRequest } = require('./stats.cjs');
const extra = extraWork(process.argv[3]);
const server = http.createServer((_req, res) => {
  countRequest();
  extra();
  res.end('hello world');
});

/** The handler's extra work for argv[3] (see the top of this file); throws on anything else. */
function extraWork(spec) {
  if (spec === undefined) return () => {};
  const match = /^(spans|activeSpans|contexts)=([1-9][0-9]*)$/.exec(spec);
  if (match === null) throw new Error(`extra work must be spans=N, activeSpans=N or contexts=N, got ${spec}`);
  const count = Number(match[2]);
  const names = ['extra_a', 'extra_b', 'extra_c', 'extra_d'];
  if (match[1] === 'spans') {
    const tracer = require('@opentelemetry/api').trace.getTracer('bench-extra');
    return () => {
      for (let i = 0; i < count; i++) tracer.startSpan(names[i % names.length]).end();
    };
  }
  if (match[1] === 'activeSpans') {
    const tracer = require('@opentelemetry/api').trace.getTracer('bench-extra');
    const end = (span) => span.end();
    return () => {
      for (let i = 0; i < count; i++) tracer.startActiveSpan(names[i % names.length], end);
    };
  }
  const { timing } = require('../../dist/src');
  return () => {
    for (let i = 0; i < count; i++) {
      timing.enterContext(names[i % names.length]);
      timing.leaveContext();
    }
  };
}
if (mode === 'propagation') require('./propagate-context.cjs').propagateContext(server);
answerStats();
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready http://127.0.0.1:${server.address().port}\n`);
});
