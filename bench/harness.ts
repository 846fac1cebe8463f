/**
 * Generic micro-benchmark harness: per-variant loop functions, median
 * timing, allocation and GC measurement, table printing.
 *
 * Run with `node --expose-gc` (as `npm run bench` does) so allocation can
 * be measured.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextImmediate, setTimeout as sleep } from 'node:timers/promises';

/** One benchmark suite; `bench/index.ts` runs them in order. */
export interface Suite {
  readonly name: string;
  run(): Promise<void>;
}

/** A compiled benchmark loop: evaluates its call expression `n` times with `o` bound to `target`. */
export type Loop = (target: unknown, n: number) => number;

let sink = 0;

/** Folds a loop's checksum into the global sink so the JIT cannot drop the calls. */
export function consume(value: number): void {
  sink = (sink ^ value) | 0;
}

/** The accumulated checksum; print it so the results are observably used. */
export function sinkValue(): number {
  return sink;
}

let loopCount = 0;

/**
 * Compiles a fresh loop function with `new Function`, so every variant has
 * its own call site and inline caches. `call` is a JavaScript expression
 * that evaluates to a small integer; it can use `o` (the target), `i` (the
 * iteration) and the names in `bindings`. Every source is unique: V8 caches
 * compiled `new Function` sources, and two loops with the same text would
 * share their feedback.
 */
export function makeLoop(call: string, bindings: Readonly<Record<string, unknown>> = {}): Loop {
  const names = Object.keys(bindings);
  const source = [
    "'use strict';",
    `return function benchLoop${++loopCount}(o, n) {`,
    '  let s = 0;',
    `  for (let i = 0; i < n; i++) s = (s + ${call}) | 0;`,
    '  return s;',
    '};',
  ].join('\n');
  const factory = new Function(...names, source) as (...values: unknown[]) => Loop;
  return factory(...names.map((name) => bindings[name]));
}

/**
 * `count` objects of distinct hidden classes, each with its own `method(a, b)`
 * function: feed them to a loop first to make its call site megamorphic.
 */
export function megamorphicObjects(method: string, count = 8): unknown[] {
  return Array.from({ length: count }, (_, k) => {
    const make = new Function(
      `return { shape${k}: ${k}, ${method}(a, b) { return (a + b + ${k}) | 0; } };`,
    ) as () => unknown;
    return make();
  });
}

/** `count` distinct functions (distinct closures and code) to make a plain call site megamorphic. */
export function megamorphicFunctions(count = 8): unknown[] {
  return Array.from(
    { length: count },
    (_, k) => new Function('a', 'b', 'c', 'd', `return d > ${k} ? ${k} : undefined;`),
  );
}

/** Runs `loop` on every fodder target a few times, so its call site becomes megamorphic before it is optimized. */
export function makeMegamorphic(loop: Loop, fodder: readonly unknown[]): void {
  for (let pass = 0; pass < 3; pass++) {
    for (const target of fodder) consume(loop(target, 200));
  }
}

/** How many rounds to time and how long each should be. */
export interface TimingOptions {
  readonly rounds: number;
  /** Minimum warm-up time before the timed rounds. */
  readonly warmupMs: number;
  /** Aimed duration of one round; the call count is clamped to `minCalls..maxCalls`. */
  readonly roundMs: number;
  readonly minCalls: number;
  readonly maxCalls: number;
}

/** The median of the timed rounds. */
export interface Timing {
  readonly nsPerCall: number;
  readonly callsPerRound: number;
  readonly rounds: number;
}

function timeOnce(loop: Loop, target: unknown, calls: number): number {
  const start = process.hrtime.bigint();
  consume(loop(target, calls));
  return Number(process.hrtime.bigint() - start) / calls;
}

/** The median of `values` (not modified); with an even count, the mean of the two middle ones (the upper one would bias ratios). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Warms `loop` up in chunks of calls (at least `warmupMs` and 20 chunks, so
 * it runs optimized code), picks the call count of a round from the last
 * chunk's speed (`roundMs`, clamped to `minCalls..maxCalls`), then times
 * `rounds` rounds with `process.hrtime.bigint()` and returns the median ns
 * per call.
 */
export function timeLoop(loop: Loop, target: unknown, options: TimingOptions): Timing {
  const chunk = 10_000;
  const warmupEnd = process.hrtime.bigint() + BigInt(Math.round(options.warmupMs * 1e6));
  let chunkNs = 0;
  for (let chunks = 0; chunks < 20 || process.hrtime.bigint() < warmupEnd; chunks++) {
    chunkNs = timeOnce(loop, target, chunk);
  }
  const wanted = Math.round((options.roundMs * 1e6) / Math.max(chunkNs, 0.1));
  const calls = Math.min(options.maxCalls, Math.max(options.minCalls, wanted));
  const samples: number[] = [];
  for (let round = 0; round < options.rounds; round++) samples.push(timeOnce(loop, target, calls));
  return { nsPerCall: median(samples), callsPerRound: calls, rounds: options.rounds };
}

/** Allocation of one long loop. */
export interface Allocation {
  /** Heap growth divided by the call count; an underestimate if `gcs > 0`. */
  readonly bytesPerCall: number;
  /** Garbage collections that ran during the loop. */
  readonly gcs: number;
}

/** Counts garbage collections with a `PerformanceObserver` of entry type `gc`. */
export class GcCounter {
  private seen = 0;
  private readonly observer = new PerformanceObserver((list) => {
    this.seen += list.getEntries().length;
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** The count once pending observer callbacks (delivered asynchronously) have run. */
  async settled(): Promise<number> {
    await nextImmediate();
    await nextImmediate();
    await nextImmediate();
    await sleep(1);
    return this.seen;
  }

  dispose(): void {
    this.observer.disconnect();
  }
}

/** True if the process runs with `--expose-gc`. */
export function canMeasureAllocation(): boolean {
  return typeof globalThis.gc === 'function';
}

/**
 * Runs `loop` for `calls` calls after a full GC and returns the heap
 * growth per call and the number of GCs during the loop (counted by
 * `counter`). Requires `--expose-gc`; run the loop warmed up.
 */
export async function measureAllocation(
  loop: Loop,
  target: unknown,
  calls: number,
  counter: GcCounter,
): Promise<Allocation> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('allocation measurement needs node --expose-gc');
  gc();
  const gcsBefore = await counter.settled();
  const heapBefore = process.memoryUsage().heapUsed;
  consume(loop(target, calls));
  const heapAfter = process.memoryUsage().heapUsed;
  const gcs = (await counter.settled()) - gcsBefore;
  return { bytesPerCall: Math.max(0, heapAfter - heapBefore) / calls, gcs };
}

/** Formats an allocation for a table cell: bytes per call, or `allocates` if a GC ran during the loop. */
export function formatAllocation(allocation: Allocation | undefined): string {
  if (allocation === undefined) return '';
  if (allocation.gcs > 0) return 'allocates';
  return allocation.bytesPerCall.toFixed(2);
}

/** Column of a text table; numeric columns are right-aligned. */
export interface Column {
  readonly title: string;
  readonly align?: 'left' | 'right';
}

/** Prints a plain-text table with padded columns. */
export function printTable(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
  const widths = columns.map((column, c) => Math.max(column.title.length, ...rows.map((row) => row[c].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (columns[c].align === 'right' ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  console.log(line(columns.map((column) => column.title)));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
}

/** One GET of `url` through `agent`, its body read and dropped; resolves when it has ended. */
export function httpGet(url: string, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
}

/**
 * True, after printing the suite's "skipped" line, when `command` (a tool a
 * suite needs: valgrind, perf) does not run (`command --version`).
 */
export function missingTool(command: string, debianPackage: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    console.log(`skipped: ${command} not found (apt-get install ${debianPackage})`);
    return true;
  }
}
