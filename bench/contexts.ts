/**
 * The per-context benchmark: what one timing context costs a debugged
 * request (`timing.enterContext` + `timing.leaveContext`, the span it emits
 * included), against one OpenTelemetry SDK span (always-on sampler, batch
 * processor), both in time and in retained bytes, measured in one process.
 *
 * Each round is one real HTTP request over loopback whose handler runs `n`
 * sibling contexts (or spans) under one parent. Time: the handler's loop,
 * and the server's whole CPU for the request (the output and the spans'
 * end included) divided by `n`. Bytes: heap retained by the loop after a
 * full GC (the tree nodes and the ended spans waiting in the batch queue),
 * divided by `n`. The rounds alternate between the variants; medians.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, type Tracer } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { library } from './library';
import { median, printTable, type Suite } from './harness';

const { RequestDebugSampler, TimingInstrumentation, timing } = library;

/** Contexts (or spans) per request, from BENCH_CONTEXTS. */
const N = Number(process.env.BENCH_CONTEXTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
/** Distinct sibling names, built before any measurement. */
const NAMES = Array.from({ length: N }, (_, i) => `context_${i}`);

/** Holds nothing: the batch processor's queue is what retains the ended spans. */
const noopExporter: SpanExporter = {
  export(_spans: ReadableSpan[], done) {
    done({ code: ExportResultCode.SUCCESS });
  },
  shutdown: () => Promise.resolve(),
};

/** A batch processor that keeps a whole request's spans until it is flushed (as the default does, up to 2,048). */
function batch(): BatchSpanProcessor {
  return new BatchSpanProcessor(noopExporter, {
    maxQueueSize: N * 2,
    maxExportBatchSize: N * 2,
    scheduledDelayMillis: 60_000,
  });
}

interface Sample {
  /** Loop time per context or span. */
  readonly loopNs: number;
  /** Retained heap per context or span after the loop, after a full GC. */
  readonly bytes: number;
  /** Server CPU for the whole request per context or span. */
  readonly cpuNs: number;
}

interface Variant {
  readonly label: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

const VARIANTS: readonly Variant[] = [
  { label: 'OTel SDK span (always on, batch processor)', path: '/otel', headers: {} },
  { label: 'timing context, debugged request (log output)', path: '/timing', headers: { 'X-Request-Debug': '*' } },
  { label: 'timing context, request not debugged', path: '/timing', headers: {} },
];

function gc(): void {
  const collect = globalThis.gc;
  if (collect === undefined) throw new Error('the contexts bench needs node --expose-gc (npm run bench)');
  collect();
}

/**
 * Runs `loop` and measures its time, or (in a request of its own, since the
 * full GCs cost more than the loop) the heap it leaves retained.
 */
function measureLoop(loop: () => void, heap: boolean, out: { loopNs: number; bytes: number }): void {
  if (!heap) {
    const start = process.hrtime.bigint();
    loop();
    out.loopNs = Number(process.hrtime.bigint() - start) / N;
    return;
  }
  // Two full GCs on each side (and the previous flush settled, see the rounds): with one and no wait, some
  // rounds on Node 20 read 0 B for the OTel spans, the previous request's spans held at the first GC and
  // freed by the second.
  gc();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  loop();
  gc();
  gc();
  out.bytes = (process.memoryUsage().heapUsed - heapBefore) / N;
}

function otelLoop(tracer: Tracer): void {
  tracer.startActiveSpan('bench', (parent) => {
    const parentContext = context.active();
    for (let i = 0; i < N; i++) tracer.startSpan(NAMES[i], undefined, parentContext).end();
    parent.end();
  });
}

function timingLoop(): void {
  timing.enterContext('bench');
  for (let i = 0; i < N; i++) {
    timing.enterContext(NAMES[i]);
    timing.leaveContext();
  }
  timing.leaveContext();
}

/**
 * One keep-alive connection for every request, as a production server's
 * clients keep theirs: with a connection per request, the full GC before
 * each request also freed the shapes of the closed sockets' async
 * resources, and deoptimised every function that reads the active context
 * (AsyncLocalStorage's getStore), which the timing calls do and the span
 * loop does once.
 */
const KEEP_ALIVE = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(port: number, variant: Variant): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: variant.path, headers: variant.headers, agent: KEEP_ALIVE }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
}

async function runContextsSuite(): Promise<void> {
  console.log(`\n== contexts: one timing context vs one OTel SDK span, ${N} per request ==`);
  console.log(
    `sibling contexts under one parent in a real request handler; ${ROUNDS} alternating rounds, median ` +
      '(BENCH_CONTEXTS, BENCH_ROUNDS change them). Loop: the handler loop per context; CPU: the server process ' +
      'for the whole request (output and span ends included) per context; bytes: heap retained by the loop after a full GC.',
  );
  const timingProvider = new BasicTracerProvider({
    sampler: new RequestDebugSampler(new AlwaysOnSampler()),
    spanProcessors: [batch()],
  });
  const instrumentation = new TimingInstrumentation({ logger: () => undefined });
  instrumentation.setTracerProvider(timingProvider);
  const otelProvider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [batch()] });
  const tracer = otelProvider.getTracer('bench');

  const current = { loopNs: 0, bytes: 0 };
  let heap = false;
  const server = http.createServer((req, res) => {
    measureLoop(req.url === '/otel' ? () => otelLoop(tracer) : timingLoop, heap, current);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const samples = VARIANTS.map((): Sample[] => []);
  const flush = (): Promise<unknown> => Promise.all([timingProvider.forceFlush(), otelProvider.forceFlush()]);
  for (let round = -2; round < ROUNDS; round++) {
    for (const [v, variant] of VARIANTS.entries()) {
      await flush();
      gc();
      heap = false;
      const cpuBefore = process.cpuUsage();
      await request(port, variant);
      await new Promise((resolve) => setImmediate(resolve));
      const cpu = process.cpuUsage(cpuBefore);
      await flush();
      // The flush's export settles before the heap is measured (see measureLoop).
      await new Promise((resolve) => setImmediate(resolve));
      heap = true;
      await request(port, variant);
      // The first two rounds warm the code up and are not counted.
      if (round >= 0) samples[v].push({ ...current, cpuNs: ((cpu.user + cpu.system) * 1000) / N });
    }
  }
  KEEP_ALIVE.destroy();
  server.close();
  instrumentation.disable();
  await Promise.all([timingProvider.shutdown(), otelProvider.shutdown()]);

  const med = (v: number, key: keyof Sample): number => median(samples[v].map((s) => s[key]));
  const rows = VARIANTS.map((variant, v) => [
    variant.label,
    (med(v, 'loopNs') / 1000).toFixed(2),
    (med(v, 'cpuNs') / 1000).toFixed(2),
    med(v, 'bytes').toFixed(0),
  ]);
  printTable(
    [
      { title: 'per context or span', align: 'left' },
      { title: 'loop us', align: 'right' },
      { title: 'request CPU us', align: 'right' },
      { title: 'retained B', align: 'right' },
    ],
    rows,
  );
  const ratio = (key: keyof Sample): number => med(1, key) / med(0, key);
  console.log(
    `timing context / OTel span: loop ${ratio('loopNs').toFixed(2)}x, request CPU ${ratio('cpuNs').toFixed(2)}x, ` +
      `bytes ${ratio('bytes').toFixed(2)}x (goal: at most 1.2x each)`,
  );
}

export const contextsSuite: Suite = { name: 'contexts', run: runContextsSuite };
