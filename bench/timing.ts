/**
 * The cost of one timing context in a debugged request: `enterContext` +
 * `leaveContext` (a tree node, its instance and its span), against one
 * OpenTelemetry span started and ended with the same tracer (the
 * baseline, in the same process): nanoseconds per context, and bytes each
 * retains while its request is open (the tree keeps its node, the batch
 * processor keeps an ended span until export).
 */
import { type Tracer } from '@opentelemetry/api';
import { runInContext } from '../src/core/context-manager';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { contextWithNewScope } from '../src/core/request-scope';
import { timing } from '../src/timing/timing-api';
import { openBenchDebugRequest } from './timing-request';
import { median, printTable, type Suite } from './harness';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CONTEXTS = 2000;
const REQUESTS = 20;

/** Keeps every ended span, as a batch processor does until it exports. */
class KeepingProcessor implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const names = Array.from({ length: CONTEXTS }, (_, i) => `context_${i}`);

function timeContexts(tracer: Tracer): number {
  const start = process.hrtime.bigint();
  for (let r = 0; r < REQUESTS; r++) {
    const ctx = openBenchDebugRequest(contextWithNewScope().context, tracer);
    runInContext(ctx, () => {
      for (const name of names) {
        timing.enterContext(name);
        timing.leaveContext();
      }
      if (timing.getContextKv('request_id') !== 'bench') throw new Error('the bench request is not debugged');
    });
  }
  return Number(process.hrtime.bigint() - start) / (REQUESTS * CONTEXTS);
}

function timeSpans(tracer: Tracer): number {
  const start = process.hrtime.bigint();
  for (let r = 0; r < REQUESTS; r++) {
    for (const name of names) tracer.startSpan(name).end();
  }
  return Number(process.hrtime.bigint() - start) / (REQUESTS * CONTEXTS);
}

function retainedBytes(run: () => unknown): number {
  const gc = globalThis.gc as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = run();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (kept === undefined) throw new Error('nothing kept');
  return (after - before) / CONTEXTS;
}

async function runTimingSuite(): Promise<void> {
  console.log('\n== timing: cost of one timing context against one OpenTelemetry span ==');
  console.log(
    `${CONTEXTS} distinct contexts per request (enterContext + leaveContext), ${REQUESTS} requests per round, ` +
      `${ROUNDS} rounds; baseline: tracer.startSpan(name).end() with the same provider (spans kept, as a batch ` +
      'processor keeps them until export). Bytes: heap retained per context while its request is open.',
  );
  const contextNs: number[] = [];
  const spanNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const processor = new KeepingProcessor();
    const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('bench');
    contextNs.push(timeContexts(tracer));
    processor.spans.length = 0;
    spanNs.push(timeSpans(tracer));
  }
  const processor = new KeepingProcessor();
  const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('bench');
  const contextBytes = retainedBytes(() => {
    const ctx = openBenchDebugRequest(contextWithNewScope().context, tracer);
    runInContext(ctx, () => {
      for (const name of names) {
        timing.enterContext(name);
        timing.leaveContext();
      }
    });
    return [ctx, processor.spans];
  });
  processor.spans.length = 0;
  const spanBytes = retainedBytes(() => {
    for (const name of names) tracer.startSpan(name).end();
    return processor.spans;
  });
  const ns = median(contextNs);
  const base = median(spanNs);
  printTable(
    [{ title: 'variant' }, { title: 'ns/context', align: 'right' }, { title: 'bytes/context', align: 'right' }],
    [
      ['OTel span start+end (baseline)', base.toFixed(0), spanBytes.toFixed(0)],
      ['timing context (tree node + span)', ns.toFixed(0), contextBytes.toFixed(0)],
      ['ratio', `${(ns / base).toFixed(2)}x`, `${(contextBytes / spanBytes).toFixed(2)}x`],
    ],
  );
  await Promise.resolve();
}

export const timingSuite: Suite = { name: 'timing', run: runTimingSuite };
