/**
 * Core benchmark: the per-call cost and allocation of a hooked function
 * (dormant and enabled) and of `runHook`, against a raw call, Node's
 * TracingChannel without subscribers and a shimmer-style wrapper, all
 * measured in one process.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { cpus } from 'node:os';
import { library } from './library';
import {
  canMeasureAllocation,
  consume,
  formatAllocation,
  GcCounter,
  makeLoop,
  makeMegamorphic,
  measureAllocation,
  megamorphicFunctions,
  megamorphicObjects,
  printTable,
  sinkValue,
  timeLoop,
  type Allocation,
  type Suite,
  type Timing,
  type TimingOptions,
} from './harness';

const { alwaysEnable, enableOnThisRequest, hook, hookFunction, listGroups, runHook, withRequestScope } = library;

const TIMING: TimingOptions = { rounds: 7, warmupMs: 50, roundMs: 100, minCalls: 100_000, maxCalls: 20_000_000 };
const ALLOCATION_CALLS = 10_000_000;
/** Below this, bytes per call is measurement noise (a few hundred bytes over the whole loop). */
const ZERO_BYTES = 0.005;

const METHOD_CALL = 'o.add(i, 1)';
const HOOK_NAME = 'bench_hook';

/** The small method every variant calls in the end. */
class Adder {
  add(a: number, b: number): number {
    return a + b;
  }
}

/** The function every variant ends up calling. */
const rawAdd = Adder.prototype.add;

function noop(): void {
  // A handler that does nothing: the cost measured is the library's own.
}

/** What the dormant, TracingChannel and raw rows are, for the goal checks. */
type Role = 'raw' | 'dormant' | 'tracing' | 'other';

interface Variant {
  readonly name: string;
  readonly role: Role;
  /** What `o` is in the loop. */
  readonly target: unknown;
  /** The call expression of the loop (see `makeLoop`). */
  readonly call: string;
  /** Targets of other shapes that make the call site megamorphic. */
  readonly fodder: readonly unknown[];
  /** Runs the measurement in the context the variant needs (a request scope). */
  readonly within?: <T>(fn: () => T) => T;
  /** Measure bytes per call and GCs (only variants that need no context). */
  readonly allocation?: boolean;
  /** Also measured before anything ran an enabled path: the variant itself never takes one. */
  readonly pristine?: boolean;
}

interface Measured {
  readonly variant: Variant;
  readonly timing: Timing;
  readonly allocation?: Allocation;
}

let shimmerEnabled = false;

/** A wrapper as shimmer-based instrumentations write them: a flag check, then the original. */
function shimmerWrap(original: (a: number, b: number) => number): (this: unknown, a: number, b: number) => number {
  return function (this: unknown, a: number, b: number): number {
    if (shimmerEnabled) {
      noop();
      const result = original.call(this, a, b);
      noop();
      return result;
    }
    return original.call(this, a, b);
  };
}

function inRequestScope(enable?: string): <T>(fn: () => T) => T {
  return <T>(fn: () => T): T =>
    withRequestScope(() => {
      if (enable !== undefined) enableOnThisRequest(enable);
      return fn();
    });
}

/**
 * Enables `group` in a request scope that stays alive after this returns,
 * as a request waiting for I/O does: a pending timer created in the scope
 * keeps its context reachable. Returns the function that lets it go.
 */
function enableInAnotherRequest(group: string): () => void {
  let timer: NodeJS.Timeout | undefined;
  withRequestScope(() => {
    enableOnThisRequest(group);
    timer = setTimeout(noop, 3_600_000);
  });
  return () => {
    clearTimeout(timer);
  };
}

function enabledScopes(group: string): number {
  return listGroups().find((info) => info.name === group)?.enabledScopes ?? 0;
}

function runHookCall(group: string): string {
  return `(o(${JSON.stringify(group)}, ${JSON.stringify(HOOK_NAME)}, 1, 2) === undefined ? 1 : 0)`;
}

function hooked(group: string, maxArgs: 2 | 'varargs'): Adder {
  const target = new Adder();
  hookFunction(group, target, 'add', maxArgs, { befores: [noop], afters: [noop] });
  return target;
}

function createVariants(): Variant[] {
  const objects = megamorphicObjects('add');
  const functions = megamorphicFunctions();

  const traced = new Adder();
  const channel = tracingChannel('dynamic-hooks:bench:add');
  const sharedContext = {};
  traced.add = function (this: Adder, a: number, b: number): number {
    return channel.traceSync(rawAdd, sharedContext, this, a, b);
  };
  const shimmered = new Adder();
  shimmered.add = shimmerWrap(rawAdd);

  alwaysEnable('bench_always');
  hook('bench_hook_off', HOOK_NAME, noop);
  hook('bench_hook_on', HOOK_NAME, noop);

  const method = (name: string, role: Role, target: unknown, extra: Partial<Variant> = {}): Variant => ({
    name,
    role,
    target,
    call: METHOD_CALL,
    fodder: objects,
    ...extra,
  });
  return [
    method('raw call obj.add(a, b)', 'raw', new Adder(), { allocation: true, pristine: true }),
    method('hooked, group disabled (dormant), maxArgs 2', 'dormant', hooked('bench_disabled', 2), {
      allocation: true,
      pristine: true,
    }),
    method('hooked, group disabled (dormant), varargs', 'dormant', hooked('bench_disabled', 'varargs'), {
      allocation: true,
      pristine: true,
    }),
    method('TracingChannel traceSync, no subscribers', 'tracing', traced, { allocation: true, pristine: true }),
    method('shimmer-style wrapper, flag off', 'other', shimmered, { allocation: true, pristine: true }),
    method('hooked, enabled on this request, no-op handlers', 'other', hooked('bench_request', 2), {
      within: inRequestScope('bench_request'),
    }),
    method('hooked, always enabled, no-op handlers', 'other', hooked('bench_always', 2)),
    method('hooked, dormant here, enabled in another request (in a scope)', 'other', hooked('bench_other', 2), {
      within: inRequestScope(),
    }),
    method('hooked, dormant here, enabled in another request (no scope)', 'other', hooked('bench_other', 2), {
      allocation: true,
    }),
    {
      name: 'timing.leaveContext(), no request debugged',
      role: 'other',
      target: library.timing,
      call: '(o.leaveContext() === undefined ? 1 : 0)',
      fodder: megamorphicObjects('leaveContext'),
      allocation: true,
      pristine: true,
    },
    {
      // What TypeScript compiled to CommonJS emits for `import { timing }`:
      // a read of the package's exports object on every call.
      name: 'the same through the exports (lib.timing.leaveContext())',
      role: 'other',
      target: library,
      call: '(o.timing.leaveContext() === undefined ? 1 : 0)',
      fodder: [],
      allocation: true,
      pristine: true,
    },
    {
      name: 'runHook, group disabled',
      role: 'other',
      target: runHook,
      call: runHookCall('bench_hook_off'),
      fodder: functions,
      allocation: true,
      pristine: true,
    },
    {
      name: 'runHook, enabled on this request, no-op handler',
      role: 'other',
      target: runHook,
      call: runHookCall('bench_hook_on'),
      fodder: functions,
      within: inRequestScope('bench_hook_on'),
    },
  ];
}

function run<T>(variant: Variant, fn: () => T): T {
  return variant.within === undefined ? fn() : variant.within(fn);
}

/**
 * Runs every variant (enabled ones in their context) before anything is
 * timed, so the library code the variants share (the wrapper, the enabled
 * path, `runHook`) has seen all its paths, as in a real process. Flips
 * the shimmer flag once for the same reason.
 */
function prime(variants: readonly Variant[]): void {
  shimmerEnabled = true;
  for (const variant of variants) {
    const loop = makeLoop(variant.call);
    run(variant, () => {
      consume(loop(variant.target, 20_000));
    });
  }
  shimmerEnabled = false;
}

async function measureSet(
  variants: readonly Variant[],
  megamorphic: boolean,
  counter: GcCounter | undefined,
): Promise<Measured[]> {
  const results: Measured[] = [];
  for (const variant of variants) {
    const loop = makeLoop(variant.call);
    if (megamorphic) makeMegamorphic(loop, variant.fodder);
    const timing = run(variant, () => timeLoop(loop, variant.target, TIMING));
    const allocation =
      variant.allocation === true && counter !== undefined
        ? await measureAllocation(loop, variant.target, ALLOCATION_CALLS, counter)
        : undefined;
    results.push({ variant, timing, allocation });
  }
  return results;
}

function nsOf(results: readonly Measured[], role: Role): number {
  return Math.max(...results.filter((r) => r.variant.role === role).map((r) => r.timing.nsPerCall));
}

function printSet(title: string, results: readonly Measured[]): void {
  const raw = nsOf(results, 'raw');
  console.log(`\n${title}`);
  printTable(
    [
      { title: 'variant' },
      { title: 'ns/call', align: 'right' },
      { title: 'x raw', align: 'right' },
      { title: 'overhead ns', align: 'right' },
      { title: 'bytes/call', align: 'right' },
      { title: 'GCs', align: 'right' },
      { title: 'calls/round', align: 'right' },
    ],
    results.map(({ variant, timing, allocation }) => [
      variant.name,
      timing.nsPerCall.toFixed(2),
      `${(timing.nsPerCall / raw).toFixed(2)}x`,
      (timing.nsPerCall - raw).toFixed(2),
      formatAllocation(allocation),
      allocation === undefined ? '' : String(allocation.gcs),
      timing.callsPerRound.toExponential(1),
    ]),
  );
}

/** Overheads over the raw call of the same set; dormant is the slower of maxArgs 2 and varargs. */
interface Overheads {
  readonly dormant: number;
  readonly tracing: number;
}

function overheads(results: readonly Measured[]): Overheads {
  const raw = nsOf(results, 'raw');
  return { dormant: nsOf(results, 'dormant') - raw, tracing: nsOf(results, 'tracing') - raw };
}

function describeOverheads(label: string, { dormant, tracing }: Overheads): string {
  return `${label}: dormant ${dormant.toFixed(2)} ns vs TracingChannel ${tracing.toFixed(2)} ns`;
}

function dormantAllocationFree(results: readonly Measured[]): boolean {
  return results
    .filter((r) => r.variant.role === 'dormant')
    .every((r) => r.allocation !== undefined && r.allocation.gcs === 0 && r.allocation.bytesPerCall < ZERO_BYTES);
}

function printHeader(): void {
  const cpu = cpus();
  console.log('== core: dynamic hooks per-call cost ==');
  console.log(
    `node ${process.version}, V8 ${process.versions.v8}, ${cpu.length} CPU(s) ${cpu[0]?.model.trim() ?? 'unknown'}`,
  );
  console.log(
    'timing: each variant has its own loop function (new Function, own inline caches), warmed up, then ' +
      `${TIMING.rounds} rounds of ~${TIMING.roundMs} ms (${TIMING.minCalls.toExponential(0)}..` +
      `${TIMING.maxCalls.toExponential(0)} calls) timed with process.hrtime.bigint(); median ns/call, loop included. ` +
      'x raw and overhead are against the raw call of the same set.',
  );
  console.log(
    `allocation: global.gc(), then process.memoryUsage().heapUsed delta over one loop of ${ALLOCATION_CALLS.toLocaleString('en-US')} ` +
      'calls / calls; GCs during the loop counted by a PerformanceObserver(gc), flushed after the loop. ' +
      '"allocates" = a GC ran during the loop (the delta would underestimate).',
  );
  console.log(
    'sets: "pristine" runs first, before any hooked function took its enabled path; then every variant runs once ' +
      '(enabled ones too, and the shimmer flag flips once), as in a process where some request enabled a group, ' +
      'and the steady-state sets are measured. Goal checks use the steady state.',
  );
  console.log('library: the compiled package in dist/ (npm run bench builds it first), as users run it.');
}

/** Runs the core suite and prints its tables and goal checks. */
async function runCoreSuite(): Promise<void> {
  printHeader();
  const variants = createVariants();
  const counter = canMeasureAllocation() ? new GcCounter() : undefined;
  if (counter === undefined) console.log('(no allocation figures: run with node --expose-gc)');
  let releaseOther: (() => void) | undefined;
  try {
    if (counter !== undefined) {
      globalThis.gc?.();
      await counter.settled();
    }
    const pristine = await measureSet(
      variants.filter((variant) => variant.pristine === true),
      false,
      counter,
    );
    printSet(
      'pristine, monomorphic: before any hooked function or runHook in this process took its enabled path',
      pristine,
    );

    releaseOther = enableInAnotherRequest('bench_other');
    prime(variants);
    const mono = await measureSet(variants, false, counter);
    printSet('steady state, monomorphic call site (every variant ran first; the wrapper can be inlined)', mono);
    const mega = await measureSet(variants, true, counter);
    printSet(
      'steady state, megamorphic call site (fed 8 other shapes first: the wrapper is called, not inlined)',
      mega,
    );
    if (enabledScopes('bench_other') === 0) {
      console.log('warning: the other request scope was collected; the "another request" rows may be wrong');
    }

    printGoals(pristine, mono, mega, counter !== undefined);
  } finally {
    counter?.dispose();
    releaseOther?.();
  }
}

/** Prints the goal checks (on the steady-state sets) with the figures behind them. */
function printGoals(
  pristine: readonly Measured[],
  mono: readonly Measured[],
  mega: readonly Measured[],
  allocationMeasured: boolean,
): void {
  const steady = [overheads(mono), overheads(mega)];
  const fast = steady.every(({ dormant, tracing }) => dormant <= tracing);
  const allocation = (results: readonly Measured[]): string =>
    allocationMeasured ? yesNo(dormantAllocationFree(results)) : 'not measured';
  console.log(`\n(sink ${sinkValue()})`);
  console.log('goal checks on the steady-state sets; overhead = ns(variant) - ns(raw), dormant = the slower of');
  console.log('maxArgs 2 and varargs:');
  console.log(`  ${describeOverheads('monomorphic', steady[0])}; ${describeOverheads('megamorphic', steady[1])}`);
  console.log(
    `  not a goal, for comparison: ${describeOverheads('pristine', overheads(pristine))}, ` +
      `pristine dormant allocation free: ${allocation(pristine)}`,
  );
  console.log(
    `dormant overhead <= TracingChannel no-subscriber overhead: ${yesNo(fast)}; ` +
      `dormant allocation: 0 bytes/call: ${allocation([...mono, ...mega])}`,
  );
}

function yesNo(ok: boolean): string {
  return ok ? 'yes' : 'no';
}

/** The core suite: hooked calls and `runHook` against a raw call, TracingChannel and a shimmer wrapper. */
export const coreSuite: Suite = { name: 'core', run: runCoreSuite };
