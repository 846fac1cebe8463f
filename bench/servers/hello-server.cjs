// A hello-world node:http server for the server benchmark, in one of these
// setups (argv[2]): plain; propagation (no instrumentation, but one
// OpenTelemetry context.with per request, the floor any context propagation
// pays); timing (TimingInstrumentation registered; the client decides
// whether requests are debugged); timing-debug-scopes (the same with
// scopeEveryRequest: false); timing-rules (timing with a flag rule evaluated
// per request, flag-rule.json, which selects none of the benchmark's requests); otel-http (OpenTelemetry's own
// HttpInstrumentation, always-on sampler, batch processor to a no-op
// exporter); otel-http-timing (the same plus TimingInstrumentation). Plain CommonJS on the compiled package: nothing is transformed
// at run time. Prints "ready <url>" when listening; answers "stats" on stdin
// with "stats <cpu microseconds> <requests served> <spans exported>".
'use strict';

const mode = process.argv[2];
// Exit cleanly on SIGINT, so that node --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
const { startSdk } = require('./sdk.cjs');

if (mode === 'timing' || mode === 'timing-debug-scopes' || mode === 'timing-rules') {
  const { AlwaysOffSampler } = require('@opentelemetry/sdk-trace-base');
  const { TimingInstrumentation, RequestDebugSampler, debugRulesFromFlags } = require('../../dist/src');
  const timing = new TimingInstrumentation({ scopeEveryRequest: mode !== 'timing-debug-scopes' });
  startSdk([timing], new RequestDebugSampler(new AlwaysOffSampler()));
  if (mode === 'timing-rules') {
    debugRulesFromFlags({ file: require('node:path').join(__dirname, 'flag-rule.json'), headers: ['x-tenant'] });
  }
} else if (mode === 'otel-http') {
  const { AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  startSdk([new HttpInstrumentation()], new AlwaysOnSampler());
} else if (mode === 'otel-http-timing') {
  const { AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  const { TimingInstrumentation, RequestDebugSampler } = require('../../dist/src');
  startSdk([new HttpInstrumentation(), new TimingInstrumentation()], new RequestDebugSampler(new AlwaysOnSampler()));
} else if (mode === 'propagation') {
  startSdk([], undefined);
} else if (mode !== 'plain') {
  throw new Error(`unknown mode ${mode}`);
}

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
