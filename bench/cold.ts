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
import { once } from 'node:events';
import { join } from 'node:path';
import { median, printTable, type Suite } from './harness';
import { machineLine, startServer } from './load';

const SERVER = join(__dirname, 'servers', 'hello-server.cjs');
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

export const coldSuite: Suite = { name: 'cold', run: runColdSuite };
