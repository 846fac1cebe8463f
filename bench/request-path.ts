/**
 * The request-path benchmark: CPU ns of one hello-world request without
 * its socket (Node's request.start publication, `server.emit('request')`
 * on real request and response objects, the response buffered, then its
 * finish and close as Node emits them, and what the requests deferred),
 * in a loop in a process of its own per setup: the per-request code of
 * the instrumentations and its GC, without the parser, the socket or the
 * load generator, so with little noise on a shared machine
 * (bench/servers/request-path.cjs). The server benchmark has the whole
 * request. BENCH_NODE runs it on another node binary.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Suite } from './harness';
import { median, printTable } from './harness';
import { machineLine, serverNode } from './load';

const SCRIPT = join(__dirname, 'servers', 'request-path.cjs');
const run = promisify(execFile);

/** The setups, by their mode in bench/servers/hello-setup.cjs (the instructions suite counts them too). */
export const REQUEST_PATH_SETUPS = [
  { label: '(a) uninstrumented', mode: 'plain' },
  { label: "(a') one OTel context.with per request", mode: 'propagation' },
  { label: '(b) TimingInstrumentation, no debug header', mode: 'timing' },
  { label: "(b') the same, scopeEveryRequest: false", mode: 'timing-debug-scopes' },
  { label: '(d) OTel HttpInstrumentation, always on', mode: 'otel-http' },
  { label: '(f) as (d), plus TimingInstrumentation', mode: 'otel-http-timing' },
] as const;

async function measure(mode: string): Promise<number> {
  const { stdout } = await run(serverNode(), [SCRIPT, mode], { maxBuffer: 1 << 20 });
  const match = /result (\S+)/.exec(stdout);
  if (match === null) throw new Error(`${mode}: no result in ${stdout}`);
  return Number(match[1]);
}

async function runRequestPathSuite(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  console.log('\n== request path: a hello-world request without its socket, CPU ns ==');
  console.log(
    `${process.env.BENCH_PATH_REQUESTS ?? 100000} requests x 7 in a process per setup (median), ${rounds} alternating ` +
      'rounds, median reported (BENCH_ROUNDS, BENCH_PATH_REQUESTS change them).',
  );
  console.log(machineLine());
  const results: number[][] = REQUEST_PATH_SETUPS.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, setup] of REQUEST_PATH_SETUPS.entries()) results[i].push(await measure(setup.mode));
  }
  const ns = results.map(median);
  const over = (i: number, base: number): string =>
    `${ns[i] - ns[base] >= 0 ? '+' : ''}${(ns[i] - ns[base]).toFixed(0)}`;
  printTable(
    [
      { title: 'setup', align: 'left' },
      { title: 'CPU ns/request', align: 'right' },
      { title: 'over (a)', align: 'right' },
      { title: 'rounds', align: 'left' },
    ],
    REQUEST_PATH_SETUPS.map((setup, i) => [
      setup.label,
      ns[i].toFixed(0),
      over(i, 0),
      results[i].map((v) => v.toFixed(0)).join(' '),
    ]),
  );
  console.log(`(b) over (a'): ${over(2, 1)} ns; (f) over (d): ${over(5, 4)} ns`);
  console.log(machineLine());
}

export const requestPathSuite: Suite = { name: 'request-path', run: runRequestPathSuite };
