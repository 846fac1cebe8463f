/**
 * The instructions benchmark: the request-path benchmark's hello-world
 * request (bench/servers/request-path.cjs), and a request through the
 * gateway (bench/servers/gateway-server.ts, sent from this process one at a
 * time), counted in machine instructions instead of CPU time, under
 * valgrind's cachegrind. On a shared machine a CPU time moves by 10-30 %
 * from round to round; an instruction count depends on what else the
 * machine runs only through Node's own timers (which fire by wall-clock
 * time), so differences of a few hundred instructions per request (a few
 * tens of ns) show.
 *
 * What makes the count repeatable: node runs with `--predictable` (V8 on
 * one thread, no concurrent compilation or GC tasks),
 * `--predictable-gc-schedule` and `--no-incremental-marking` (a full GC
 * happens where the allocation alone puts it: incremental marking takes
 * steps by time), `--no-allocation-site-pretenuring` (whose decisions
 * flip on small changes in what a collection finds alive), fixed random
 * and hash seeds, and no address space
 * randomisation (`setarch -R`); nothing in the SDK runs on a wall-clock
 * schedule (span and metric exports by size only, no resource detection
 * in the background), since valgrind's slowdown moves such work among the
 * requests. In the hello part each setup runs twice, with two request
 * counts: the difference, divided by the difference in requests, is the
 * cost of one request with start-up, loading and most compilation left
 * out. The servers part counts only the requests after a warm-up, under
 * callgrind (see countServer): the gateway's compilations go on for hundreds of
 * requests, and one landing in one run of a pair and not the other made
 * its counts come in two "modes" a third apart. Each is done three times
 * (BENCH_INSTRUCTIONS_RUNS) and the median reported with the range: the
 * setups without spans repeat to within a few instructions, the ones that
 * record a span per request (d, f) only to within about 1 %, as some
 * collections still fall differently. The servers part repeats within
 * 0.2 % on Node 20. On Node 22 V8 still compiles the hello world's code
 * for 4,000 requests (windows of 170,000-320,000 instructions per request
 * after a warm-up of 1,000, 52,000 after 5,000), hence the warm-up of
 * 5,000; on every line a major collection or a late compilation lands in
 * one window of five now and then (+20-40 %), which the median leaves out.
 *
 * Instructions are not time: a cache miss or a mispredicted branch costs
 * more than an add. And these flags change the GC (a young generation
 * that never grows, so more collections per request than a production
 * heap makes) and when V8 optimises. Use it to tell whether a change adds
 * or removes work, and the CPU suites for what that work costs. Needs valgrind (`apt-get install valgrind`);
 * BENCH_NODE runs it on another node binary.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Suite } from './harness';
import { httpGet, median, missingTool, printTable } from './harness';
import { serverNode, serverNodeVersion } from './load';
import { REQUEST_PATH_SETUPS } from './request-path';
import { gatewayArgs } from './server';

const SCRIPT = join(__dirname, 'servers', 'request-path.cjs');
const run = promisify(execFile);

/** The request-path suite's setups, then the dormant ones of issue 14 (compare them with (s)). */
const SETUPS = [
  ...REQUEST_PATH_SETUPS,
  { label: '(s) a NodeSDK, no instrumentation', mode: 'sdk' },
  { label: '(g) OTel HttpInstrumentation dormant (otel:http off)', mode: 'otel-http-dormant' },
  { label: "(h) OTel auto-instrumentations' default set, dormant", mode: 'otel-all-dormant' },
] as const;

const HELLO_SERVER = join(__dirname, 'servers', 'hello-server.cjs');

/**
 * The servers counted over a real socket (see countServer): issue 14's
 * figure, OpenTelemetry's default set dormant against no OpenTelemetry at
 * all, in the hello-world server (bench/servers/hello-server.cjs) and the
 * gateway (bench/servers/gateway-server.ts).
 */
const SERVER_SETUPS = [
  { label: '(a) hello world, no OpenTelemetry', args: [HELLO_SERVER, 'plain'] },
  { label: '(s) hello world, a NodeSDK, no instrumentation', args: [HELLO_SERVER, 'sdk'] },
  { label: '(h) hello world, the default set dormant', args: [HELLO_SERVER, 'otel-all-dormant'] },
  { label: '(a) gateway, no OpenTelemetry', args: gatewayArgs('plain') },
  {
    label: '(e0) gateway, the default set built then disabled, NodeSDK without it',
    args: gatewayArgs('otel-all-disabled'),
  },
  { label: "(e'') gateway, the default set dormant", args: gatewayArgs('otel-all-dormant') },
] as const;

/** What one process counted: its instructions, and the requests it made. */
interface Count {
  readonly instructions: number;
  readonly requests: number;
}

/**
 * `setarch` and its arguments that run `nodeArgs` under cachegrind (or,
 * given `callgrindFile`, under callgrind writing there), node in its
 * repeatable mode (see the file's comment).
 */
function countedCommand(nodeArgs: readonly string[], name: string, callgrindFile?: string, seed = 1): string[] {
  // BENCH_INSTRUCTIONS_OUT=<dir> keeps each run's counts by function, for cg_annotate and cg_diff.
  const out = process.env.BENCH_INSTRUCTIONS_OUT;
  const file = out === undefined || out === '' ? '/dev/null' : join(out, `${name}.%p.cachegrind`);
  const tool =
    callgrindFile === undefined
      ? ['--tool=cachegrind', '--cache-sim=no', '--branch-sim=no', `--cachegrind-out-file=${file}`]
      : ['--tool=callgrind', `--callgrind-out-file=${callgrindFile}`];
  return [
    process.arch === 'x64' ? 'x86_64' : process.arch,
    '-R',
    'valgrind',
    ...tool,
    serverNode(),
    '--predictable',
    '--predictable-gc-schedule',
    '--no-incremental-marking',
    '--no-allocation-site-pretenuring',
    `--random-seed=${String(seed)}`,
    `--hash-seed=${String(seed)}`,
    ...nodeArgs,
  ];
}

/** The environment of a counted process: nothing of the SDK's on a wall-clock schedule. */
function countedEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    // Span and metric exports by size only, no resource detection in the background.
    OTEL_BSP_SCHEDULE_DELAY: '1000000000',
    OTEL_METRIC_EXPORT_INTERVAL: '2000000000',
    OTEL_METRIC_EXPORT_TIMEOUT: '1000000000',
    OTEL_NODE_RESOURCE_DETECTORS: 'none',
  };
}

function instructionsIn(stderr: string, what: string): number {
  const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
  if (refs === null) throw new Error(`${what}: no count in ${stderr}`);
  return Number(refs[1].replaceAll(',', ''));
}

async function count(mode: string, requestsPerLoop: number): Promise<Count> {
  // valgrind writes its summary to stderr, the script its request count to stdout.
  const { stdout, stderr } = await run(
    'setarch',
    countedCommand([SCRIPT, mode], `${mode}.${String(requestsPerLoop)}`),
    {
      env: countedEnv({ BENCH_PATH_REQUESTS: String(requestsPerLoop) }),
      maxBuffer: 1 << 22,
    },
  );
  const requests = /requests (\d+)/.exec(stdout);
  if (requests === null) throw new Error(`${mode}: no request count in ${stdout}`);
  return { instructions: instructionsIn(stderr, mode), requests: Number(requests[1]) };
}

/** What one server process counted: its median window, per request. */
interface ServerCount {
  /** The process's `--random-seed` and `--hash-seed`. */
  readonly seed: number;
  readonly instructions: number;
  /** Entries into V8's runtime to define an object literal's computed key (see literalRuntimeCalls). */
  readonly literalCalls: number;
}

/**
 * How many times a callgrind dump entered
 * `Runtime_DefineKeyedOwnPropertyInLiteral`: V8 defining an object
 * literal's computed-key property outside its inline caches. A Node 22
 * process whose `process.nextTick` tick objects (a literal with symbol
 * keys) are made that way runs some 84 such entries and +40 % of
 * instructions per gateway request, for its whole life (see
 * docs/benchmarks.md, Instructions); the suite names such processes.
 * Unoptimised code always takes that path (the interpreter has no inline
 * cache for it), so after too short a warm-up every process shows it.
 */
function literalRuntimeCalls(dump: string): number {
  const id = /^c?fn=\((\d+)\) v8::internal::Runtime_DefineKeyedOwnPropertyInLiteral\(/m.exec(dump)?.[1];
  if (id === undefined) return 0;
  let calls = 0;
  for (const match of dump.matchAll(new RegExp(`^cfn=\\(${id}\\).*\\ncalls=(\\d+) `, 'gm'))) {
    calls += Number(match[1]);
  }
  return calls;
}

/**
 * A server (`nodeArgs`: bench/servers/hello-server.cjs or
 * gateway-server.ts, the library from dist/) under callgrind, while this
 * process sends it requests one after the other on one keep-alive
 * connection: `warmUp` of them, then the counters are zeroed
 * (`callgrind_control -z`), then `windows` windows of `requests` each, each
 * dumped alone (`callgrind_control -d`, which zeroes the counters again).
 * The process's figure is the median window, per request. The gateway's
 * upstream runs in a process of its own, not counted. A count of whole
 * runs, as the hello part makes, put V8's compilations of the gateway's
 * first few hundred requests (one of about 140 M instructions, a few
 * hundred thousand per request) in one run of a pair or the other: two
 * "modes" a third apart. On Node 22 and 24 such compilations go on after
 * thousands of requests; one lands in one window, and the median leaves it
 * out.
 */
async function countServer(
  nodeArgs: readonly string[],
  warmUp: number,
  requests: number,
  windows: number,
  seed: number,
): Promise<ServerCount> {
  const setup = nodeArgs.slice(-2).join(' ');
  const out = process.env.BENCH_INSTRUCTIONS_OUT;
  const dir = out === undefined || out === '' ? mkdtempSync(join(tmpdir(), 'server-counts-')) : out;
  const file = join(dir, `server-${String(process.hrtime.bigint())}.callgrind`);
  // A file, not a pipe: under callgrind, a Node 22 gateway whose stderr is a
  // pipe ran in the nextTick literal mode (see literalRuntimeCalls) in 4 of
  // 4 processes, and with it on /dev/null in 0 of 5; natively in none
  // either way (the literal-mode suite).
  const stderrFile = `${file}.stderr`;
  const stderrFd = openSync(stderrFile, 'w');
  const child = spawn('setarch', countedCommand(nodeArgs, 'server', file, seed), {
    env: countedEnv({}),
    stdio: ['pipe', 'pipe', stderrFd],
  });
  closeSync(stderrFd);
  const { stdout } = child;
  if (stdout === null) throw new Error(`${setup}: no stdout pipe`);
  const exited = once(child, 'exit');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', () => reject(new Error(`${setup} exited: ${readFileSync(stderrFile, 'utf8')}`)));
      createInterface({ input: stdout }).on('line', (line) => {
        const match = /^ready (\S+)$/.exec(line);
        if (match !== null) resolve(match[1]);
      });
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < warmUp; i++) await httpGet(url, agent);
      await run('callgrind_control', ['-z', String(child.pid)]);
      for (let window = 0; window < windows; window++) {
        for (let i = 0; i < requests; i++) await httpGet(url, agent);
        await run('callgrind_control', ['-d', String(child.pid)]);
      }
    } finally {
      agent.destroy();
    }
    const dumps = Array.from({ length: windows }, (_, window) => {
      const dumped = readFileSync(`${file}.${String(window + 1)}`, 'utf8');
      const summary = /^summary: (\d+)$/m.exec(dumped);
      if (summary === null) throw new Error(`${setup}: no summary in dump ${String(window + 1)} of ${file}`);
      return { instructions: Number(summary[1]) / requests, literalCalls: literalRuntimeCalls(dumped) / requests };
    });
    const perWindow = dumps.map((each) => each.instructions);
    if (process.env.BENCH_INSTRUCTIONS_WINDOWS_SHOW === '1') {
      console.log(
        `  ${setup}, seed ${String(seed)}: ${perWindow.map((each) => each.toFixed(0)).join(' ')} ` +
          `(literal runtime entries per request: ${dumps.map((each) => each.literalCalls.toFixed(1)).join(' ')})`,
      );
    }
    return { seed, instructions: median(perWindow), literalCalls: median(dumps.map((each) => each.literalCalls)) };
  } finally {
    child.kill('SIGTERM');
    await exited;
    if (dir !== out) rmSync(dir, { recursive: true, force: true });
  }
}

/** Instructions of one request: the difference of two runs that differ only in their number of requests. */
async function perRequest(counter: (size: number) => Promise<Count>, small: number): Promise<number> {
  const [few, many] = await Promise.all([counter(small), counter(3 * small)]);
  return (many.instructions - few.instructions) / (many.requests - few.requests);
}

/** Runs `jobs` with at most `limit` at a time (each is one valgrind process, single-threaded). */
async function inParallel<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  return results;
}

async function runInstructionsSuite(): Promise<void> {
  console.log('\n== instructions: one request, instructions per request ==');
  if (missingTool('valgrind', 'valgrind')) return;
  const runs = Number(process.env.BENCH_INSTRUCTIONS_RUNS ?? 3);
  console.log(
    `valgrind, node --predictable (see bench/instructions.ts), node ${serverNodeVersion()}; per setup, ` +
      `median of ${String(runs)} ` +
      "(BENCH_INSTRUCTIONS_RUNS); the machine's load changes only what Node's own timers do. BENCH_INSTRUCTIONS_PART=hello " +
      'or servers runs one part.',
  );
  const part = process.env.BENCH_INSTRUCTIONS_PART;
  if (part !== 'servers') await helloPart(runs);
  if (part !== 'hello') await serverPart(runs);
}

/** Medians of `runs` per-request counts of each setup, and each setup's counts. */
async function countSetups(
  counters: readonly ((size: number) => Promise<Count>)[],
  small: number,
  runs: number,
): Promise<{ medians: number[]; counts: number[][] }> {
  // The two processes of a pair run at once: a valgrind process uses one core.
  const jobs = counters.flatMap((counter) => Array.from({ length: runs }, () => () => perRequest(counter, small)));
  const counted = await inParallel(jobs, Math.floor(availableParallelism() / 2));
  const counts = counters.map((_, i) => counted.slice(i * runs, (i + 1) * runs));
  return { medians: counts.map(median), counts };
}

function printCounts(labels: readonly string[], medians: readonly number[], counts: readonly number[][]): void {
  printTable(
    [
      { title: 'setup', align: 'left' },
      { title: 'instructions/request', align: 'right' },
      { title: 'range', align: 'right' },
      { title: 'over (a)', align: 'right' },
      { title: '(a) / setup', align: 'right' },
    ],
    labels.map((label, i) => [
      label,
      medians[i].toFixed(0),
      `${Math.min(...counts[i]).toFixed(0)}-${Math.max(...counts[i]).toFixed(0)}`,
      signed(medians[i] - medians[0]),
      (medians[0] / medians[i]).toFixed(3),
    ]),
  );
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(0)}`;
}

async function helloPart(runs: number): Promise<void> {
  const small = Number(process.env.BENCH_INSTRUCTIONS_REQUESTS ?? 2000);
  console.log(
    `\nA hello-world request without its socket (bench/servers/request-path.cjs), n = ${String(small)} x 7.2 ` +
      '(BENCH_INSTRUCTIONS_REQUESTS sets the first factor); (count of a run with 3n requests - count of one ' +
      'with n) / 2n, under cachegrind:',
  );
  const { medians, counts } = await countSetups(
    SETUPS.map((setup) => (size: number) => count(setup.mode, size)),
    small,
    runs,
  );
  printCounts(
    SETUPS.map((setup) => setup.label),
    medians,
    counts,
  );
  const over = (i: number, base: number): string => signed(medians[i] - medians[base]);
  console.log(
    `(b) over (a'): ${over(2, 1)}; (f) over (d): ${over(5, 4)}; (g) over (s): ${over(7, 6)}; ` +
      `(h) over (s): ${over(8, 6)}`,
  );
}

async function serverPart(runs: number): Promise<void> {
  const warmUp = Number(process.env.BENCH_INSTRUCTIONS_SERVER_WARMUP ?? 5000);
  const requests = Number(process.env.BENCH_INSTRUCTIONS_SERVER_REQUESTS ?? 1000);
  const windows = Number(process.env.BENCH_INSTRUCTIONS_SERVER_WINDOWS ?? 5);
  console.log(
    '\nReal servers over a socket: the hello world, and the gateway (examples/gateway, the library from dist/) ' +
      'proxying to a hello world in a process of its own; requests sent one at a time on one keep-alive ' +
      `connection; under callgrind, after ${String(warmUp)} requests, ${String(windows)} windows of ` +
      `${String(requests)} counted, a process's figure its median window (BENCH_INSTRUCTIONS_SERVER_WARMUP, ` +
      '_WINDOWS, _REQUESTS; BENCH_INSTRUCTIONS_WINDOWS_SHOW=1 prints every window):',
  );
  const jobs = SERVER_SETUPS.flatMap((each) =>
    Array.from({ length: runs }, (_, run) => () => countServer(each.args, warmUp, requests, windows, run + 1)),
  );
  const counted = await inParallel(jobs, Math.max(1, availableParallelism()));
  const processes = SERVER_SETUPS.map((_, i) => counted.slice(i * runs, (i + 1) * runs));
  const counts = processes.map((each) => each.map((one) => one.instructions));
  const medians = counts.map(median);
  printCounts(
    SERVER_SETUPS.map((each) => each.label),
    medians,
    counts,
  );
  const ratio = (i: number, base: number): string => (medians[base] / medians[i]).toFixed(3);
  console.log(
    `hello world: (h) over (a) ${signed(medians[2] - medians[0])} (${ratio(2, 0)}), over (s) ${signed(medians[2] - medians[1])}; ` +
      `gateway: (e'') over (a) ${signed(medians[5] - medians[3])} (${ratio(5, 3)}), over (e0) ${signed(medians[5] - medians[4])}`,
  );
  printLiteralMode(processes);
}

/** More entries per request than this puts a process in the mode literalRuntimeCalls describes. */
const LITERAL_MODE_CALLS = 10;

/** Names the processes that ran in V8's literal-runtime mode, and what their setups count without them. */
function printLiteralMode(processes: readonly (readonly ServerCount[])[]): void {
  processes.forEach((setup, i) => {
    const slow = setup.filter((each) => each.literalCalls > LITERAL_MODE_CALLS);
    if (slow.length === 0) return;
    const others = setup.filter((each) => each.literalCalls <= LITERAL_MODE_CALLS).map((each) => each.instructions);
    const seeds = slow.map((each) => `${String(each.seed)} (${each.literalCalls.toFixed(0)} per request)`).join(', ');
    console.log(
      `${SERVER_SETUPS[i].label}: seeds ${seeds} defined object-literal keys in V8's runtime ` +
        "(Runtime_DefineKeyedOwnPropertyInLiteral: code not yet optimised, or Node 22's process.nextTick mode; " +
        'docs/benchmarks.md, Instructions)' +
        (others.length === 0
          ? '; no process of this setup ran outside that mode'
          : `; the others: ${median(others).toFixed(0)}`),
    );
  });
}

export const instructionsSuite: Suite = { name: 'instructions', run: runInstructionsSuite };
