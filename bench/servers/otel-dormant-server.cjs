// A hello-world node:http server for the dormant OpenTelemetry benchmark, in
// one of these setups (argv[2]):
// - plain: no OpenTelemetry;
// - sdk: a NodeSDK with no instrumentation (its context manager, always-on sampler);
// - otel-http-on / otel-http-off: OpenTelemetry's HttpInstrumentation in a
//   NodeSDK, always-on / always-off sampler;
// - otel-http-dormant: the same instrumentation made dormant (dormant(),
//   group otel:http, never enabled), always-on sampler;
// - otel-all-on / otel-all-off: @opentelemetry/auto-instrumentations-node's
//   default set, always-on / always-off sampler;
// - otel-all-dormant: the same set, each made dormant (dormant(list), never
//   enabled), always-on sampler, no dynamic-hooks instrumentation;
// - timing-otel-all: TimingInstrumentation and the same set dormant,
//   RequestDebugSampler over AlwaysOff: a debugged request enables the whole
//   set (its spans and the timing contexts' are the only ones recorded);
// - register: dynamic-hooks/register alone (timing and our instrumentations);
// - register-otel-all: dynamic-hooks/register with
//   DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS=all (the whole set dormant).
// Spans go to a batch processor and a no-op exporter that counts them
// (sdk.cjs; not in the register setups, whose SDK register builds). Plain CommonJS on the
// compiled package. Prints "ready <url>" when listening; answers "stats" on
// stdin with its CPU time, requests served and spans exported (stats.cjs).
'use strict';

const mode = process.argv[2];
process.on('SIGINT', () => process.exit(0));
const { startSdk } = require('./sdk.cjs');

function startRegister(otelInstrumentations) {
  Object.assign(process.env, {
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'bench',
    DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS: otelInstrumentations,
  });
  require('../../dist/src/register');
}

const { AlwaysOnSampler, AlwaysOffSampler } = require('@opentelemetry/sdk-trace-base');
if (mode === 'otel-http-on' || mode === 'otel-http-off') {
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  startSdk([new HttpInstrumentation()], mode === 'otel-http-on' ? new AlwaysOnSampler() : new AlwaysOffSampler());
} else if (mode === 'otel-http-dormant') {
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  const { dormant } = require('../../dist/src');
  startSdk([dormant(new HttpInstrumentation())], new AlwaysOnSampler());
} else if (mode === 'sdk') {
  startSdk([], new AlwaysOnSampler());
} else if (mode === 'otel-all-on' || mode === 'otel-all-off') {
  const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');
  startSdk(getNodeAutoInstrumentations(), mode === 'otel-all-on' ? new AlwaysOnSampler() : new AlwaysOffSampler());
} else if (mode === 'otel-all-dormant') {
  const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');
  const { dormant } = require('../../dist/src');
  startSdk(dormant(getNodeAutoInstrumentations()), new AlwaysOnSampler());
} else if (mode === 'timing-otel-all') {
  const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');
  const { dormant, RequestDebugSampler, TimingInstrumentation } = require('../../dist/src');
  startSdk(
    [new TimingInstrumentation(), ...dormant(getNodeAutoInstrumentations())],
    new RequestDebugSampler(new AlwaysOffSampler()),
  );
} else if (mode === 'register') {
  startRegister('');
} else if (mode === 'register-otel-all') {
  startRegister('all');
} else if (mode !== 'plain') {
  throw new Error(`unknown mode ${mode}`);
}

const http = require('node:http');
const { answerStats, countRequest } = require('./stats.cjs');
const server = http.createServer((_req, res) => {
  countRequest();
  res.end('hello world');
});
answerStats();
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready http://127.0.0.1:${server.address().port}\n`);
});
