// The gateway of examples/gateway in front of a loopback upstream, for the
// gateway benchmark, in one of three setups (argv[2]): plain (no
// OpenTelemetry at all), sdk (the NodeSDK and its context manager, no
// instrumentation) or timing (NodeSDK with getTimingInstrumentations(); the
// client decides whether requests are debugged). Prints "ready <url>";
// answers "stats" on stdin (see stats.cjs).
import { ExportResultCode } from '@opentelemetry/core';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTimingInstrumentations } from '../../instrumentations';
import { RequestDebugSampler } from '../../src';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { answerStats, countRequest } = require('./stats.cjs') as { answerStats: () => void; countRequest: () => void };

const noopExporter: SpanExporter = {
  // Two copies of @opentelemetry/core are installed; the enum values are the same.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: () => Promise.resolve(),
};

process.on('SIGINT', () => process.exit(0));
if (process.argv[2] === 'timing' || process.argv[2] === 'sdk') {
  new NodeSDK({
    spanProcessors: [new BatchSpanProcessor(noopExporter)],
    sampler: new RequestDebugSampler(new AlwaysOffSampler()),
    instrumentations: process.argv[2] === 'timing' ? getTimingInstrumentations() : [],
  }).start();
} else if (process.argv[2] !== 'plain') {
  throw new Error(`unknown setup ${process.argv[2]}`);
}

async function main(): Promise<void> {
  // Loaded after the SDK, as an application loads its modules.
  const { createGateway } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../examples/gateway/gateway') as typeof import('../../examples/gateway/gateway');
  const upstream = http.createServer((_req, res) => res.end('hello from upstream'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const gateway = createGateway({
    services: { hello: { url: `http://localhost:${upstreamPort}/` } },
    routes: [{ name: 'hello', paths: ['/'], service: 'hello' }],
  });
  gateway.server.on('request', countRequest);
  await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`ready http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}\n`);
  answerStats();
}

void main();
