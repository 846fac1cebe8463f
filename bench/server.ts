/**
 * The server benchmark: requests per second of a hello-world node:http
 * server (a) uninstrumented, (b) with TimingInstrumentation registered and
 * no debug header, (b') the same with request scopes only for debugged
 * requests, (c) with every request debugged, (d) with
 * OpenTelemetry's own HttpInstrumentation, an always-on sampler and a batch
 * processor to a no-op exporter, (e) as (b) with a flag rule evaluated
 * per request (bench/servers/flag-rule.json, selecting none of them), (f)
 * as (d) plus TimingInstrumentation, (c+) and (d+) as (c) and (d) with
 * timing contexts and spans added in the handler (one of each, compared),
 * (d*) as (d+) with active spans.
 * Ratios are to (a), measured in the same run; BENCH_NODE runs the servers
 * on another node binary.
 */
import { join } from 'node:path';
import type { Suite } from './harness';
import { printTable } from './harness';
import { machineLine, measureServers, type LoadOptions, type LoadResult, type ServerSetup } from './load';

const SERVER = join(__dirname, 'servers', 'hello-server.cjs');

/** Timing contexts (c+) and spans (d+) the handler adds, to compare one of each inside a real server. */
const EXTRA = 8;
/** A debugged hello-world request's own timing contexts: rewrite, header_filter, body_filter, log. */
const REQUEST_CONTEXTS = 4;

const SETUPS: readonly ServerSetup[] = [
  { label: '(a) uninstrumented', args: [SERVER, 'plain'] },
  { label: "(a') no instrumentation, one OTel context.with per request", args: [SERVER, 'propagation'] },
  { label: '(b) TimingInstrumentation, no debug header', args: [SERVER, 'timing'] },
  { label: "(b') the same, scopeEveryRequest: false", args: [SERVER, 'timing-debug-scopes'] },
  {
    label: '(c) TimingInstrumentation, every request debugged',
    args: [SERVER, 'timing'],
    headers: { 'X-Request-Debug': '*' },
  },
  { label: '(d) OTel HttpInstrumentation, always on', args: [SERVER, 'otel-http'] },
  { label: '(e) as (b), plus a flag rule evaluated per request', args: [SERVER, 'timing-rules'] },
  { label: '(f) as (d), plus TimingInstrumentation, no debug header', args: [SERVER, 'otel-http-timing'] },
  {
    label: `(c+) as (c), plus ${EXTRA} timing contexts in the handler`,
    args: [SERVER, 'timing', `contexts=${EXTRA}`],
    headers: { 'X-Request-Debug': '*' },
  },
  { label: `(d+) as (d), plus ${EXTRA} OTel spans in the handler`, args: [SERVER, 'otel-http', `spans=${EXTRA}`] },
  {
    label: `(d*) as (d), plus ${EXTRA} active OTel spans (startActiveSpan) in the handler`,
    args: [SERVER, 'otel-http', `activeSpans=${EXTRA}`],
  },
];

/** Rounds and durations, from BENCH_ROUNDS and BENCH_SECONDS; a fixed request rate from BENCH_RATE. */
export function loadOptions(): LoadOptions {
  return {
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    seconds: Number(process.env.BENCH_SECONDS ?? 4),
    warmupSeconds: 1,
    connections: 32,
    rate: fixedRate(process.env.BENCH_RATE),
  };
}

/** BENCH_RATE as requests per second: unset or empty for none; anything but a positive number throws. */
function fixedRate(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const rate = Number(value);
  if (!(Number.isFinite(rate) && rate > 0))
    throw new Error(`BENCH_RATE must be a positive number of requests per second, got '${value}'`);
  return rate;
}

/** How a server suite measures, then the machine it runs on: the lines under its title. */
export function printMethod(options: LoadOptions): void {
  console.log(
    `autocannon in this process, ${options.connections} connections; each server in its own process, started fresh ` +
      `per round, ${options.warmupSeconds} s warm-up, then ${options.seconds} s measured` +
      (options.rate === undefined ? '' : ` at ${options.rate} req/s`) +
      `; ${options.rounds} alternating rounds, median reported (BENCH_ROUNDS, BENCH_SECONDS, BENCH_RATE change them). ` +
      'CPU: user and system time; user: user time alone, the fairer figure between setups (bench/load.ts).',
  );
  console.log(machineLine());
}

/**
 * The results table: req/s and ratios to the first setup (and to
 * `alsoRelativeTo`, if given), CPU per request, the spans exported per
 * request when a setup exports any, and each round's req/s and CPU (at a
 * fixed rate the CPU rounds show a slow process, which req/s cannot).
 */
export function printResults(results: readonly LoadResult[], alsoRelativeTo?: { label: string; index: number }): void {
  const baseline = results[0].rps;
  const second = alsoRelativeTo === undefined ? undefined : results[alsoRelativeTo.index].rps;
  const spans = results.some((r) => r.spansPerRequest > 0);
  printTable(
    [
      { title: 'setup', align: 'left' },
      { title: 'req/s', align: 'right' },
      { title: 'x (a)', align: 'right' },
      ...(alsoRelativeTo === undefined ? [] : [{ title: `x ${alsoRelativeTo.label}`, align: 'right' as const }]),
      { title: 'server CPU us/req', align: 'right' },
      { title: 'user us/req', align: 'right' },
      ...(spans ? [{ title: 'spans/req', align: 'right' as const }] : []),
      { title: 'rounds (req/s)', align: 'left' },
      { title: 'rounds (CPU us/req)', align: 'left' },
    ],
    results.map((r) => [
      r.label,
      r.rps.toFixed(0),
      `${(r.rps / baseline).toFixed(3)}x`,
      ...(second === undefined ? [] : [`${(r.rps / second).toFixed(3)}x`]),
      r.cpuMicrosPerRequest.toFixed(2),
      r.userMicrosPerRequest.toFixed(2),
      ...(spans ? [r.spansPerRequest.toFixed(2)] : []),
      r.rounds.map((v) => v.toFixed(0)).join(' '),
      r.cpuRounds.map((v) => v.toFixed(1)).join(' '),
    ]),
  );
}

/**
 * CPU per span exported beyond the first setup's: `(x - base) / spans of x`,
 * how (c) and (d) compare per span.
 */
function cpuPerSpan(x: LoadResult, base: LoadResult): string {
  if (x.spansPerRequest <= 0) return 'no spans';
  return `${((x.cpuMicrosPerRequest - base.cpuMicrosPerRequest) / x.spansPerRequest).toFixed(2)} us per span (${x.spansPerRequest.toFixed(2)} spans/req)`;
}

/**
 * Issue 13's first goal inside a real server, in user time: one timing
 * context of a debugged request against one OpenTelemetry span under
 * HttpInstrumentation (each the added cost of `EXTRA` in the handler,
 * divided), both a bare span (started and ended) and an active one
 * (`startActiveSpan`: like a timing context, the parent of what starts
 * inside it); and the debugged request against (d) plus its own contexts
 * at 1.2 bare spans each.
 */
function printContextAgainstSpan(
  c: LoadResult,
  d: LoadResult,
  cPlus: LoadResult,
  dPlus: LoadResult,
  dActive: LoadResult,
): void {
  const context = (cPlus.userMicrosPerRequest - c.userMicrosPerRequest) / EXTRA;
  const span = (dPlus.userMicrosPerRequest - d.userMicrosPerRequest) / EXTRA;
  const activeSpan = (dActive.userMicrosPerRequest - d.userMicrosPerRequest) / EXTRA;
  const allowed = d.userMicrosPerRequest + REQUEST_CONTEXTS * 1.2 * span;
  console.log(
    `user CPU per timing context (c+ over c) ${context.toFixed(2)} us, per OTel span (d+ over d) ${span.toFixed(2)} us: ` +
      `${(context / span).toFixed(2)}x (goal <= 1.2x); per active OTel span (d* over d) ${activeSpan.toFixed(2)} us: ` +
      `${(context / activeSpan).toFixed(2)}x; (c) ${c.userMicrosPerRequest.toFixed(2)} us against (d) plus its ` +
      `${REQUEST_CONTEXTS} contexts at 1.2 spans each, ${allowed.toFixed(2)} us: ${(c.userMicrosPerRequest / allowed).toFixed(2)}x (goal <= 1)`,
  );
}

async function runServerSuite(): Promise<void> {
  const options = loadOptions();
  console.log('\n== server: hello-world node:http, req/s over loopback ==');
  printMethod(options);
  const results = await measureServers(SETUPS, options);
  printResults(results, { label: "(a')", index: 1 });
  const [a, aPrime, b, bLazy] = results;
  const ratio = b.rps / a.rps;
  console.log(
    `(b) vs (a): req/s ratio ${ratio.toFixed(3)}, server CPU per request +${(b.cpuMicrosPerRequest - a.cpuMicrosPerRequest).toFixed(2)} us; ` +
      `(b) vs (a'): req/s ratio ${(b.rps / aPrime.rps).toFixed(3)}, CPU +${(b.cpuMicrosPerRequest - aPrime.cpuMicrosPerRequest).toFixed(2)} us`,
  );
  const rules = results[6];
  const [d, f] = [results[5], results[7]];
  const c = results[4];
  console.log(
    `(f) vs (d): TimingInstrumentation beside HttpInstrumentation, CPU per request ` +
      `+${(f.cpuMicrosPerRequest - d.cpuMicrosPerRequest).toFixed(2)} us; (c) vs (d): debugged vs HttpInstrumentation ` +
      `always on, CPU ${(c.cpuMicrosPerRequest / d.cpuMicrosPerRequest).toFixed(2)}x`,
  );
  console.log(`CPU over (a) per exported span: (c) ${cpuPerSpan(c, a)}; (d) ${cpuPerSpan(d, a)}`);
  printContextAgainstSpan(c, d, results[8], results[9], results[10]);
  console.log(
    `(e) vs (b): req/s ratio ${(rules.rps / b.rps).toFixed(3)}, CPU per request ` +
      `+${(rules.cpuMicrosPerRequest - b.cpuMicrosPerRequest).toFixed(2)} us for the flag rule (goal < 2 us)`,
  );
  const lazyRatio = bLazy.rps / a.rps;
  console.log(
    `(b') vs (a): req/s ratio ${lazyRatio.toFixed(3)}, CPU +${(bLazy.cpuMicrosPerRequest - a.cpuMicrosPerRequest).toFixed(2)} us`,
  );
  console.log(
    `goal (b)/(a) >= 0.99: ${ratio >= 0.99 ? 'yes' : 'no'}; (b')/(a) >= 0.99: ${lazyRatio >= 0.99 ? 'yes' : 'no'}`,
  );
}

const GATEWAY = join(__dirname, 'servers', 'gateway-server.ts');
const USE_BUILT = join(__dirname, 'servers', 'use-built.cjs');

/**
 * Node arguments that start examples/gateway's bench server in `setup`:
 * the example through tsx, the library from its build (use-built.cjs).
 */
export function gatewayArgs(setup: string): string[] {
  return ['--require', 'tsx', '--require', USE_BUILT, GATEWAY, setup];
}
const GATEWAY_SETUPS: readonly ServerSetup[] = [
  { label: '(a) gateway, no OpenTelemetry', args: gatewayArgs('plain') },
  {
    label: "(a') gateway, NodeSDK, one OTel context.with per request",
    args: gatewayArgs('propagation'),
  },
  {
    label: '(b) gateway, every timing instrumentation, no debug header',
    args: gatewayArgs('timing'),
  },
  {
    label: "(b') the same with scopeEveryRequest: false",
    args: gatewayArgs('timing-debug-scopes'),
  },
  {
    label: '(c) gateway, every timing instrumentation, every request debugged',
    args: gatewayArgs('timing'),
    headers: { 'X-Request-Debug': '*' },
  },
];

async function runGatewaySuite(): Promise<void> {
  const options = loadOptions();
  console.log('\n== gateway: examples/gateway proxying to a loopback upstream, req/s ==');
  console.log(
    `the gateway in one process (run through tsx), its upstream (plain hello world) in another, autocannon in this one, ${options.connections} ` +
      `connections, ${options.rounds} alternating rounds of ${options.seconds} s after ${options.warmupSeconds} s ` +
      'of warm-up; median.',
  );
  console.log(machineLine());
  const results = await measureServers(GATEWAY_SETUPS, options);
  printResults(results, { label: "(a')", index: 1 });
  const [a, aPrime, b, bLazy] = results;
  const versus = (x: LoadResult, base: LoadResult): string =>
    `${(x.rps / base.rps).toFixed(3)}, CPU +${(x.cpuMicrosPerRequest - base.cpuMicrosPerRequest).toFixed(2)} us`;
  console.log(`(b)/(a) ${versus(b, a)}; (b)/(a') ${versus(b, aPrime)}; (b')/(a) ${versus(bLazy, a)}`);
  console.log(
    `goal (b)/(a) >= 0.99: ${b.rps / a.rps >= 0.99 ? 'yes' : 'no'}; (b')/(a) >= 0.99: ${bLazy.rps / a.rps >= 0.99 ? 'yes' : 'no'}`,
  );
}

export const serverSuite: Suite = { name: 'server', run: runServerSuite };
export const gatewaySuite: Suite = { name: 'gateway', run: runGatewaySuite };
