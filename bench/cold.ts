/**
 * The cold debug path: a hello-world node:http server with
 * TimingInstrumentation, loaded from its first second, with 1 request in
 * 100 debugged, against the same server with none debugged. Reports the
 * server's CPU per request in 1-second windows over the first seconds
 * (BENCH_COLD_SECONDS, default 15): the debug code runs rarely, so it
 * stays in V8's lower tiers longer than the undebugged path, and its
 * first executions may deoptimise the shared path. Each setup starts a
 * fresh server per round; rounds alternate; median per window.
 */
import autocannon from 'autocannon';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { median, printTable, type Suite } from './harness';
import { machineLine, serverNode, startServer } from './load';

const SERVER = join(__dirname, 'servers', 'hello-server.cjs');
const IN_PROCESS = join(__dirname, 'servers', 'cold-path.cjs');
const IN_PROCESS_ROUNDS = Number(process.env.BENCH_COLD_PATH_ROUNDS ?? 5);
/** Requests per in-process window (cold-path.cjs reads the same variable). */
const IN_PROCESS_WINDOW = Number(process.env.BENCH_COLD_WINDOW ?? 50000);
const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_COLD_SECONDS ?? 15);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
/** One request in this many carries the debug header. */
const DEBUG_EVERY = 100;

interface ColdSetup {
  readonly label: string;
  readonly mode: string;
  readonly debugged: boolean;
}

const SETUPS: readonly ColdSetup[] = [
  { label: 'TimingInstrumentation, none debugged', mode: 'timing', debugged: false },
  { label: 'TimingInstrumentation, 1% debugged', mode: 'timing', debugged: true },
];

/** CPU us per request in each 1-second window of one fresh server's first `SECONDS`. */
async function coldRun(setup: ColdSetup): Promise<number[]> {
  const server = await startServer([SERVER, setup.mode]);
  try {
    const requests = Array.from({ length: DEBUG_EVERY }, (_, i) => ({
      method: 'GET' as const,
      path: '/',
      headers: setup.debugged && i === 0 ? { 'X-Request-Debug': '*' } : {},
    }));
    const windows: number[] = [];
    let last = await server.stats();
    const load = autocannon({ url: server.url, connections: CONNECTIONS, duration: SECONDS, requests });
    for (let s = 0; s < SECONDS; s++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const now = await server.stats();
      windows.push((now.cpuMicros - last.cpuMicros) / Math.max(1, now.requests - last.requests));
      last = now;
    }
    const result = await load;
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    return windows;
  } finally {
    server.child.kill();
    await once(server.child, 'exit');
  }
}

async function runColdSuite(): Promise<void> {
  console.log(`\n== cold: the first ${SECONDS} s of a fresh server, 1 request in ${DEBUG_EVERY} debugged ==`);
  console.log(
    `hello-world node:http with TimingInstrumentation, autocannon from its first request, ${CONNECTIONS} connections; ` +
      `server CPU us per request in 1 s windows (the first includes start-up after "ready"); ${ROUNDS} alternating ` +
      'rounds, median per window (BENCH_COLD_SECONDS, BENCH_ROUNDS change them).',
  );
  console.log(machineLine());
  const runs: number[][][] = SETUPS.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, setup] of SETUPS.entries()) runs[i].push(await coldRun(setup));
  }
  const perWindow = runs.map((setupRuns) =>
    Array.from({ length: SECONDS }, (_, w) => median(setupRuns.map((windows) => windows[w]))),
  );
  const [none, some] = perWindow;
  printTable(
    [
      { title: 'second', align: 'right' },
      ...SETUPS.map((setup) => ({ title: `${setup.label}, CPU us/req`, align: 'right' as const })),
      { title: 'extra us/req', align: 'right' },
      { title: 'ratio', align: 'right' },
    ],
    none.map((cpu, w) => [
      String(w + 1),
      cpu.toFixed(1),
      some[w].toFixed(1),
      (some[w] - cpu).toFixed(1),
      `${(some[w] / cpu).toFixed(2)}x`,
    ]),
  );
  const steady = (values: number[]): number => median(values.slice(-5));
  const first = (values: number[]): number => values.slice(1, 6).reduce((a, b) => a + b, 0) / 5;
  console.log(
    `seconds 2-6, mean: 1% debugged ${first(some).toFixed(1)} us/req vs ${first(none).toFixed(1)}; ` +
      `last 5 s, median: ${steady(some).toFixed(1)} vs ${steady(none).toFixed(1)} ` +
      `(goal: the first seconds' extra no more than the steady state's)`,
  );
}

/** CPU us of one window of the in-process run: the process's, its main thread's, its other threads' (-1: unknown). */
interface WindowCpu {
  readonly total: number;
  readonly main: number;
  readonly other: number;
}

/** One fresh process of bench/servers/cold-path.cjs: its windows. */
async function inProcessRun(debugged: boolean): Promise<WindowCpu[]> {
  const { stdout } = await run(serverNode(), [IN_PROCESS, debugged ? 'debugged' : 'none'], { maxBuffer: 1 << 20 });
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('window '))
    .map((line) => {
      const [total, main, other] = line.split(' ').slice(1).map(Number);
      return { total, main, other };
    });
}

/**
 * The same without sockets or load generator (bench/servers/cold-path.cjs):
 * windows of the same requests in every run, so the extra CPU of
 * the debugged ones is the figure, with V8's compiler threads apart from
 * the main thread.
 */
async function runInProcess(): Promise<void> {
  console.log(
    `\nin process, without sockets: windows of ${IN_PROCESS_WINDOW} hello-world requests ` +
      `(${IN_PROCESS_WINDOW / DEBUG_EVERY} debugged), process CPU ms per ` +
      `window (main thread + other threads: V8's compiler runs there), ${IN_PROCESS_ROUNDS} alternating fresh ` +
      'processes each, median per window (BENCH_COLD_PATH_ROUNDS changes it):',
  );
  const none: WindowCpu[][] = [];
  const some: WindowCpu[][] = [];
  for (let round = 0; round < IN_PROCESS_ROUNDS; round++) {
    none.push(await inProcessRun(false));
    some.push(await inProcessRun(true));
  }
  const at = (runs: WindowCpu[][], w: number, key: keyof WindowCpu): number =>
    median(runs.map((windows) => windows[w][key])) / 1000;
  const split = (runs: WindowCpu[][], w: number): string =>
    at(runs, w, 'main') < 0
      ? at(runs, w, 'total').toFixed(0)
      : `${at(runs, w, 'total').toFixed(0)} (${at(runs, w, 'main').toFixed(0)} + ${at(runs, w, 'other').toFixed(0)})`;
  const extras = none[0].map((_, w) => at(some, w, 'total') - at(none, w, 'total'));
  printTable(
    [
      { title: 'window', align: 'right' },
      { title: 'none debugged, CPU ms', align: 'right' },
      { title: '1% debugged, CPU ms', align: 'right' },
      { title: 'extra ms', align: 'right' },
      { title: 'extra us per debugged request', align: 'right' },
    ],
    extras.map((extra, w) => [
      String(w + 1),
      split(none, w),
      split(some, w),
      extra.toFixed(0),
      ((extra * 1000 * DEBUG_EVERY) / IN_PROCESS_WINDOW).toFixed(0),
    ]),
  );
  const steady = median(extras.slice(-3));
  console.log(
    `windows 1-3, extra: ${extras
      .slice(0, 3)
      .map((extra) => extra.toFixed(0))
      .join(', ')} ms against ${steady.toFixed(0)} ms in the last 3 (median)`,
  );
}

async function runBothColdSuites(): Promise<void> {
  await runColdSuite();
  await runInProcess();
}

/** `cold`: the server, then in process; `cold-path`: in process only (about a minute). */
export const coldSuite: Suite = { name: 'cold', run: runBothColdSuites };
export const coldPathSuite: Suite = {
  name: 'cold-path',
  run: async () => {
    console.log(
      `\n== cold-path: the first debugged requests of a fresh process, 1 request in ${DEBUG_EVERY} debugged ==`,
    );
    console.log(machineLine());
    await runInProcess();
  },
};
