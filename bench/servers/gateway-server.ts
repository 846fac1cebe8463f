// The gateway of examples/gateway in front of a loopback upstream (a plain
// hello-world server in its own process), for the gateway benchmark, in one
// of these setups (argv[2]): plain (no OpenTelemetry at all); propagation
// (the NodeSDK and its context manager, no instrumentation, and one
// OpenTelemetry context.with per incoming request: the floor any context
// propagation pays, as on Node 20 it switches AsyncLocalStorage's promise
// hooks on); timing (NodeSDK with getTimingInstrumentations(); the client
// decides whether requests are debugged); timing-debug-scopes (the same with
// scopeEveryRequest: false, so only debugged requests get a request scope);
// otel-all-on / otel-all-off (@opentelemetry/auto-instrumentations-node's
// default set, always-on / always-off sampler); otel-all-dormant (the same
// set made dormant with dormant(list), never enabled, always-on sampler);
// otel-all-disabled (the same set built, as its constructors patch, then
// disabled, and the NodeSDK without it: what OpenTelemetry's set costs the
// process by being there, before any gate);
// timing-otel-all (getTimingInstrumentations() and the same set dormant,
// RequestDebugSampler: a debugged request enables the whole set). Spans go
// to bench/servers/sdk.cjs's counting no-op exporter.
// Prints "ready <url>"; answers "stats" on stdin (see stats.cjs).
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AlwaysOffSampler, AlwaysOnSampler, type Sampler } from '@opentelemetry/sdk-trace-base';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { getTimingInstrumentations } from '../../instrumentations';
import { dormant, RequestDebugSampler } from '../../src';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { answerStats, countRequest } = require('./stats.cjs') as { answerStats: () => void; countRequest: () => void };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startSdk } = require('./sdk.cjs') as {
  startSdk: (instrumentations: readonly (Instrumentation | Instrumentation[])[], sampler: Sampler) => void;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { propagateContext } = require('./propagate-context.cjs') as { propagateContext: (server: http.Server) => void };

// Exit through process.exit on either signal, so that the upstream is stopped too.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
const setup = process.argv[2];
const timed = setup === 'timing' || setup === 'timing-debug-scopes';
/** @opentelemetry/auto-instrumentations-node's default set, loaded only by the setups that use it. */
function autoInstrumentations(): Instrumentation[] {
  const { getNodeAutoInstrumentations } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@opentelemetry/auto-instrumentations-node') as typeof import('@opentelemetry/auto-instrumentations-node');
  return getNodeAutoInstrumentations();
}
if (timed || setup === 'propagation') {
  startSdk(
    timed ? getTimingInstrumentations({ scopeEveryRequest: setup === 'timing' }) : [],
    new RequestDebugSampler(new AlwaysOffSampler()),
  );
} else if (setup === 'otel-all-on' || setup === 'otel-all-off') {
  startSdk(autoInstrumentations(), setup === 'otel-all-on' ? new AlwaysOnSampler() : new AlwaysOffSampler());
} else if (setup === 'otel-all-disabled') {
  for (const instrumentation of autoInstrumentations()) instrumentation.disable();
  startSdk([], new AlwaysOnSampler());
} else if (setup === 'otel-all-dormant') {
  startSdk(dormant(autoInstrumentations()), new AlwaysOnSampler());
} else if (setup === 'timing-otel-all') {
  startSdk(
    [...getTimingInstrumentations(), ...dormant(autoInstrumentations())],
    new RequestDebugSampler(new AlwaysOffSampler()),
  );
} else if (setup !== 'plain') {
  throw new Error(`unknown setup ${setup}`);
}

/**
 * Starts the upstream, a plain hello-world server (hello-server.cjs), in a
 * process of its own, as a real upstream is: the measured CPU time and the
 * instrumentation are the gateway's alone. Resolves with its port.
 */
function startUpstream(): Promise<number> {
  const upstream = spawn(process.execPath, [join(__dirname, 'hello-server.cjs'), 'plain'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  process.on('exit', () => upstream.kill());
  return new Promise((resolve, reject) => {
    upstream.once('exit', (code) => reject(new Error(`upstream exited with ${String(code)}`)));
    createInterface({ input: upstream.stdout }).on('line', (line) => {
      const match = /^ready http:\/\/127\.0\.0\.1:(\d+)$/.exec(line);
      if (match !== null) resolve(Number(match[1]));
    });
  });
}

async function main(): Promise<void> {
  const upstreamPort = await startUpstream();
  // Loaded after the SDK, as an application loads its modules.
  const { createGateway } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../examples/gateway/gateway') as typeof import('../../examples/gateway/gateway');
  const gateway = createGateway({
    services: { hello: { url: `http://localhost:${String(upstreamPort)}/` } },
    routes: [{ name: 'hello', paths: ['/'], service: 'hello' }],
  });
  gateway.server.on('request', countRequest);
  if (setup === 'propagation') propagateContext(gateway.server);
  await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`ready http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}\n`);
  answerStats();
}

void main();
