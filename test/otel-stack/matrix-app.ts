// One registration order of the OTel stack matrix (test/otel-stack/matrix.test.ts),
// as a service sets it up: a NodeSDK with an OTLP/HTTP exporter (batching) and
// RequestDebugSampler around the sampler the parent picks ("sampler on" or
// "sampler ratio0" on stdin, answered "sampler ok"), then the instrumentations
// in the order MATRIX_ORDER names:
//   alone  the timing instrumentations only
//   first  HttpInstrumentation, then the timing ones (so our Server#emit wrapper is outermost)
//   last   the timing instrumentations, then HttpInstrumentation (its wrapper outermost)
//   auto   getNodeAutoInstrumentations() and the timing ones in one NodeSDK
// GET /call?client=get|fetch makes one manual span around a call to the parent's
// upstream (MATRIX_UPSTREAM) and answers the manual span's trace id. Timing logs
// go to stdout as "timing-log <line>". "flush" on stdin force-flushes the spans
// ("flushed"); "shutdown" shuts the SDK down and exits.
import { trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import type * as Http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { getTimingInstrumentations } from '../../instrumentations';
import { RequestDebugSampler } from '../../src';

/** The user's own sampler, swapped between the matrix's sampler cells. */
class SwitchSampler implements Sampler {
  base: Sampler = new AlwaysOnSampler();
  shouldSample(
    context: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    return this.base.shouldSample(context, traceId, name, kind, attributes, links);
  }
  toString(): string {
    return `Switch{${this.base.toString()}}`;
  }
}

const order = process.env.MATRIX_ORDER ?? 'alone';
const upstream = process.env.MATRIX_UPSTREAM ?? '';
const userSampler = new SwitchSampler();
const timingInstrumentations = (): Instrumentation[] =>
  getTimingInstrumentations({
    logger: (line) => process.stdout.write(`timing-log ${line}\n`),
  });

const sdk = new NodeSDK({
  serviceName: `matrix-${order}`,
  sampler: new RequestDebugSampler(userSampler),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.OTLP_TRACES_URL }))],
  instrumentations:
    order === 'auto'
      ? [
          getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-fs': { enabled: false } }),
          timingInstrumentations(),
        ]
      : [],
});
sdk.start();
if (order === 'alone') registerInstrumentations({ instrumentations: timingInstrumentations() });
if (order === 'first') {
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
  // Loaded (and so patched by HttpInstrumentation) before the timing instrumentations start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('node:http');
  registerInstrumentations({ instrumentations: timingInstrumentations() });
}
if (order === 'last') {
  registerInstrumentations({ instrumentations: timingInstrumentations() });
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const http = require('node:http') as typeof Http;

/** Whose `Server#emit` wrapper is outermost: ours, OpenTelemetry's (shimmer-marked), or none. */
function outermostEmit(): string {
  const emit = http.Server.prototype.emit as unknown as Record<string | symbol, unknown>;
  if (Object.getOwnPropertySymbols(emit).some((s) => s.description === 'dynamic-hooks original emit')) return 'ours';
  return emit.__wrapped === true ? 'otel' : 'none';
}

const tracer = trace.getTracer('matrix-app');

function callUpstream(client: string): Promise<void> {
  if (client === 'fetch') return fetch(upstream).then((res) => res.text().then(() => undefined));
  return new Promise((resolve, reject) => {
    http
      .get(upstream, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
}

const server = http.createServer((req, res) => {
  const client = new URL(req.url ?? '/', 'http://app').searchParams.get('client') ?? 'get';
  void tracer.startActiveSpan('manual', (span) => {
    const traceId = span.spanContext().traceId;
    return callUpstream(client).then(
      () => {
        span.end();
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ traceId }));
      },
      (error: unknown) => {
        span.end();
        res.statusCode = 502;
        res.end(String(error));
      },
    );
  });
});
server.keepAliveTimeout = 1;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`ready http://127.0.0.1:${port} emit:${outermostEmit()}\n`);
});

const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, argument] = line.trim().split(' ');
  if (command === 'sampler') {
    userSampler.base =
      argument === 'ratio0' ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }) : new AlwaysOnSampler();
    process.stdout.write(`sampler ok ${argument}\n`);
  } else if (command === 'flush') {
    void (provider.getDelegate?.().forceFlush?.() ?? Promise.resolve()).then(() => process.stdout.write('flushed\n'));
  } else if (command === 'shutdown') {
    server.close();
    server.closeAllConnections();
    void sdk.shutdown().then(() => process.exit(0));
  }
});
