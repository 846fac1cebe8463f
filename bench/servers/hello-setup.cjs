// The instrumentation setups of the hello-world benchmarks (hello-server.cjs,
// request-path.cjs), by name: plain; propagation (no instrumentation, but one
// OpenTelemetry context.with per request, the floor any context propagation
// pays: the caller wraps its server with propagate-context.cjs); timing
// (TimingInstrumentation registered; the client decides whether requests are
// debugged); timing-debug-scopes (the same with scopeEveryRequest: false);
// timing-rules (timing with a flag rule evaluated per request,
// flag-rule.json, which selects none of the benchmark's requests); otel-http
// (OpenTelemetry's own HttpInstrumentation, always-on sampler, batch
// processor to a no-op exporter); otel-http-timing (the same plus
// TimingInstrumentation); sdk (a NodeSDK, no instrumentation); otel-http-dormant
// (HttpInstrumentation made dormant with dormant(), group otel:http, never
// enabled); otel-all-dormant (@opentelemetry/auto-instrumentations-node's
// default set, each made dormant). Plain CommonJS on the compiled package: nothing is
// transformed at run time. Call before loading node:http's server.
'use strict';

const { startSdk } = require('./sdk.cjs');

/** Sets up `mode`'s instrumentation; throws on an unknown mode. */
function setUp(mode) {
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
  } else if (mode === 'otel-http-dormant') {
    const { AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base');
    const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
    const { dormant } = require('../../dist/src');
    startSdk([dormant(new HttpInstrumentation())], new AlwaysOnSampler());
  } else if (mode === 'otel-all-dormant') {
    const { AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base');
    const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');
    const { dormant } = require('../../dist/src');
    startSdk(dormant(getNodeAutoInstrumentations()), new AlwaysOnSampler());
  } else if (mode === 'sdk') {
    const { AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base');
    startSdk([], new AlwaysOnSampler());
  } else if (mode === 'propagation') {
    startSdk([], undefined);
  } else if (mode !== 'plain') {
    throw new Error(`unknown mode ${mode}`);
  }
}

module.exports = { setUp };
