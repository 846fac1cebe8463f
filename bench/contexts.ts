/**
 * The per-context benchmark: what one timing context costs a debugged
 * request (`timing.enterContext` + `timing.leaveContext`, the span it emits
 * included), against one OpenTelemetry SDK span (always-on sampler, batch
 * processor), both in time and in retained bytes. Two OTel rows: a span
 * started with an explicit parent and ended (the least a span costs), and
 * an active span (`startActiveSpan`), which, like a timing context, is the
 * parent of what starts inside it.
 *
 * Each round is one real HTTP request over loopback whose handler runs `n`
 * sibling contexts (or spans) under one parent. Time: the handler's loop,
 * and the server's whole CPU for the request (the output and the spans'
 * end included) divided by `n`. Bytes: heap retained by the loop after a
 * full GC (the tree nodes and the ended spans waiting in the batch queue),
 * divided by `n`. The rounds alternate between the variants, in several
 * fresh processes (on Node 20 one process can run all its code slower
 * for its whole life); medians over all rounds. BENCH_NODE runs it on
 * another node binary.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { context, type Span, type Tracer } from '@opentelemetry/api';
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
import { machineLine, serverNode } from './load';

const { RequestDebugSampler, TimingInstrumentation, timing } = library;

/** Contexts (or spans) per request, from BENCH_CONTEXTS. */
const N = Number(process.env.BENCH_CONTEXTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 3);
/** Measured requests of each steady process (BENCH_STEADY_REQUESTS), after STEADY_WARM_UP unmeasured ones. */
const STEADY_REQUESTS = Number(process.env.BENCH_STEADY_REQUESTS ?? 30);
const STEADY_WARM_UP = 10;

/**
 * Distinct names among the siblings, from BENCH_CONTEXT_NAMES: by default
 * every one differs (the tree's worst case, a node per context); fewer
 * repeat in turn, as a loop over a few operations would.
 */
const DISTINCT = Number(process.env.BENCH_CONTEXT_NAMES ?? N);
if (!Number.isInteger(DISTINCT) || DISTINCT < 1 || DISTINCT > N) {
  throw new RangeError(`BENCH_CONTEXT_NAMES must be an integer from 1 to ${String(N)}`);
}
/** The siblings' names, built before any measurement. */
const NAMES = Array.from({ length: N }, (_, i) => `context_${i % DISTINCT}`);

/** Holds nothing (the batch processor's queue is what retains the ended spans); counts what it is given. */
class CountingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A batch processor that keeps a whole request's spans until it is flushed (as the default does, up to 2,048). */
function batch(exporter: SpanExporter): BatchSpanProcessor {
  return new BatchSpanProcessor(exporter, {
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

/** Rows of VARIANTS the ratios compare. */
const OTEL_SPAN = 0;
const OTEL_ACTIVE_SPAN = 1;
const TIMING_CONTEXT = 2;
const TIMING_UNDEBUGGED = 3;
/** The variants measured in steady processes too. */
const STEADY_VARIANTS = [OTEL_SPAN, OTEL_ACTIVE_SPAN, TIMING_CONTEXT];

const VARIANTS: readonly Variant[] = [
  { label: 'OTel SDK span (always on, batch processor)', path: '/otel', headers: {} },
  { label: 'OTel SDK active span (startActiveSpan)', path: '/otel-active', headers: {} },
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
  // Two full GCs on each side, after a pause since the previous flush (see the rounds).
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

function endSpan(span: Span): void {
  span.end();
}

function otelActiveLoop(tracer: Tracer): void {
  tracer.startActiveSpan('bench', (parent) => {
    for (let i = 0; i < N; i++) tracer.startActiveSpan(NAMES[i], endSpan);
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

/** The bench's server, its two tracer providers and the timing instrumentation, in this process. */
interface BenchServer {
  readonly port: number;
  /** Exports what the batch processors hold. */
  flush(): Promise<unknown>;
  /** Spans exported so far, by both providers. */
  exported(): number;
  /** Whether the next requests measure retained bytes (after full GCs) instead of the loop's time. */
  measureHeap: boolean;
  /** What the last request's loop measured. */
  readonly current: { loopNs: number; bytes: number };
  close(): Promise<void>;
}

async function startBenchServer(): Promise<BenchServer> {
  const timingExporter = new CountingExporter();
  const timingProvider = new BasicTracerProvider({
    sampler: new RequestDebugSampler(new AlwaysOnSampler()),
    spanProcessors: [batch(timingExporter)],
  });
  // Every context records its span: the default budget (1,000 per request) would leave most without one.
  const instrumentation = new TimingInstrumentation({ logger: () => undefined, maxSpansPerRequest: N + 2 });
  instrumentation.setTracerProvider(timingProvider);
  const otelExporter = new CountingExporter();
  const otelProvider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [batch(otelExporter)],
  });
  const tracer = otelProvider.getTracer('bench');

  const loops: Readonly<Record<string, () => void>> = {
    '/otel': () => otelLoop(tracer),
    '/otel-active': () => otelActiveLoop(tracer),
  };
  const server = http.createServer((req, res) => {
    measureLoop(loops[req.url ?? ''] ?? timingLoop, bench.measureHeap, bench.current);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bench: BenchServer = {
    port: (server.address() as AddressInfo).port,
    flush: () => Promise.all([timingProvider.forceFlush(), otelProvider.forceFlush()]),
    exported: () => timingExporter.exported + otelExporter.exported,
    measureHeap: false,
    current: { loopNs: 0, bytes: 0 },
    async close() {
      KEEP_ALIVE.destroy();
      server.close();
      instrumentation.disable();
      await Promise.all([timingProvider.shutdown(), otelProvider.shutdown()]);
    },
  };
  return bench;
}

/**
 * Throws unless `requests` requests of variant `v` exported one span per
 * context or span (and at most two more each, the parent and the root):
 * a figure over span-less contexts would be wrong (as when the span budget
 * left most contexts without one).
 */
function checkExported(v: number, exported: number, requests: number): void {
  const perRequest = v === TIMING_UNDEBUGGED ? 0 : N;
  if (exported < requests * perRequest || exported > requests * (perRequest + 2)) {
    throw new Error(
      `${VARIANTS[v].label}: ${String(exported)} spans exported for ${String(requests)} requests of ${String(N)}`,
    );
  }
}

/** Runs the rounds in this process; the samples per variant. */
async function measureInProcess(): Promise<Sample[][]> {
  const bench = await startBenchServer();
  const samples = VARIANTS.map((): Sample[] => []);
  for (let round = -2; round < ROUNDS; round++) {
    for (const [v, variant] of VARIANTS.entries()) {
      await bench.flush();
      gc();
      bench.measureHeap = false;
      const exportedBefore = bench.exported();
      const cpuBefore = process.cpuUsage();
      await request(bench.port, variant);
      await new Promise((resolve) => setImmediate(resolve));
      const cpu = process.cpuUsage(cpuBefore);
      await bench.flush();
      checkExported(v, bench.exported() - exportedBefore, 1);
      // A pause before the heap is measured: V8's concurrent optimising compiler can hold a closure of the
      // flush's export (and with its scope, the exported spans) until its job is installed, which then
      // happened inside the measured loop. Without it, most rounds read 0 B per OTel span on an idle machine
      // (the previous spans freed as the new ones were made) and some ~120 B per timing context.
      await new Promise((resolve) => setTimeout(resolve, 20));
      bench.measureHeap = true;
      await request(bench.port, variant);
      // The first two rounds warm the code up and are not counted.
      if (round >= 0) samples[v].push({ ...bench.current, cpuNs: ((cpu.user + cpu.system) * 1000) / N });
    }
  }
  await bench.close();
  return samples;
}

/**
 * One variant's requests back to back in this process, as a service
 * serves them: no forced GC, each followed by the batch processors' flush
 * (their export included). The server's CPU per context or span over the
 * measured requests, after unmeasured ones that warm the code up and let
 * the young generation grow to the variant's allocation rate.
 */
async function measureSteadyInProcess(v: number): Promise<number> {
  const bench = await startBenchServer();
  const variant = VARIANTS[v];
  let cpuBefore = process.cpuUsage();
  for (let i = -STEADY_WARM_UP; i < STEADY_REQUESTS; i++) {
    if (i === 0) cpuBefore = process.cpuUsage();
    await request(bench.port, variant);
    await bench.flush();
  }
  const cpu = process.cpuUsage(cpuBefore);
  checkExported(v, bench.exported(), STEADY_WARM_UP + STEADY_REQUESTS);
  await bench.close();
  return ((cpu.user + cpu.system) * 1000) / (STEADY_REQUESTS * N);
}

const run = promisify(execFile);

/** Runs this file as the main module of a fresh process: the rounds, or with `steady` that variant's steady requests. */
async function measureInChild<T>(steady?: number): Promise<T> {
  const env = { ...process.env, BENCH_CONTEXTS_STEADY: steady === undefined ? '' : String(steady) };
  const { stdout } = await run(serverNode(), ['--expose-gc', '--require', 'tsx', __filename], {
    maxBuffer: 1 << 20,
    env,
  });
  const match = /^result (.+)$/m.exec(stdout);
  if (match === null) throw new Error(`contexts bench process: no result in ${stdout}`);
  return JSON.parse(match[1]) as T;
}

async function runContextsSuite(): Promise<void> {
  console.log(
    `\n== contexts: one timing context vs one OTel SDK span, ${N} per request, ${DISTINCT} distinct names ==`,
  );
  console.log(
    `sibling contexts under one parent in a real request handler; ${ROUNDS} alternating rounds in each of ` +
      `${PROCESSES} fresh processes, median over all rounds (BENCH_CONTEXTS, BENCH_CONTEXT_NAMES, BENCH_ROUNDS, BENCH_PROCESSES change ` +
      'them). Loop: the handler loop per context; CPU: the server process for the whole request (output and span ' +
      'ends included) per context, each round after a full GC; bytes: heap retained by the loop after a full GC; ' +
      `steady CPU: a fresh process per variant serving its requests back to back, no forced GC, ${STEADY_REQUESTS} ` +
      `after ${STEADY_WARM_UP} unmeasured (BENCH_STEADY_REQUESTS), per context, median of ${PROCESSES} processes.`,
  );
  console.log(machineLine());
  const samples = VARIANTS.map((): Sample[] => []);
  const perProcessRatios: string[] = [];
  for (let p = 0; p < PROCESSES; p++) {
    const perProcess = await measureInChild<Sample[][]>();
    perProcess.forEach((rounds, v) => samples[v].push(...rounds));
    const loop = (v: number): number => median(perProcess[v].map((sample) => sample.loopNs));
    perProcessRatios.push(`${(loop(TIMING_CONTEXT) / loop(OTEL_SPAN)).toFixed(2)}x`);
  }
  // The steady processes, one variant each, in turn.
  const steady = VARIANTS.map((): number[] => []);
  for (let p = 0; p < PROCESSES; p++) {
    for (const v of STEADY_VARIANTS) steady[v].push(await measureInChild<number>(v));
  }

  const med = (v: number, key: keyof Sample): number => median(samples[v].map((s) => s[key]));
  const rows = VARIANTS.map((variant, v) => [
    variant.label,
    (med(v, 'loopNs') / 1000).toFixed(2),
    (med(v, 'cpuNs') / 1000).toFixed(2),
    med(v, 'bytes').toFixed(0),
    steady[v].length === 0 ? '-' : (median(steady[v]) / 1000).toFixed(2),
  ]);
  printTable(
    [
      { title: 'per context or span', align: 'left' },
      { title: 'loop us', align: 'right' },
      { title: 'request CPU us', align: 'right' },
      { title: 'retained B', align: 'right' },
      { title: 'steady CPU us', align: 'right' },
    ],
    rows,
  );
  const measures = [
    ['loop', 'loopNs'],
    ['request CPU', 'cpuNs'],
    ['bytes', 'bytes'],
  ] as const;
  const ratios = (base: number): string =>
    [
      ...measures.map(([label, key]) => `${label} ${(med(TIMING_CONTEXT, key) / med(base, key)).toFixed(2)}x`),
      `steady CPU ${(median(steady[TIMING_CONTEXT]) / median(steady[base])).toFixed(2)}x`,
    ].join(', ');
  console.log(`timing context / OTel span: ${ratios(OTEL_SPAN)} (goal: at most 1.2x each)`);
  console.log(`timing context / OTel active span: ${ratios(OTEL_ACTIVE_SPAN)}`);
  console.log(`loop ratio to the OTel span in each process: ${perProcessRatios.join(', ')}`);
  console.log(machineLine());
}

export const contextsSuite: Suite = { name: 'contexts', run: runContextsSuite };

if (require.main === module) {
  const steady = process.env.BENCH_CONTEXTS_STEADY;
  void (steady === undefined || steady === '' ? measureInProcess() : measureSteadyInProcess(Number(steady))).then(
    (result) => {
      console.log(`result ${JSON.stringify(result)}`);
    },
  );
}
