/**
 * The dormant OpenTelemetry benchmark: requests per second of a hello-world
 * node:http server with OpenTelemetry's HttpInstrumentation always on,
 * always off (AlwaysOff sampler), made dormant by dynamic-hooks, and
 * absent (with and without a NodeSDK); then the idle cost of @opentelemetry/auto-instrumentations-node's
 * whole default set installed dormant by `dynamic-hooks/register`
 * (`DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS=all`) against `dynamic-hooks/register`
 * alone; and what a debugged request with the whole set enabled costs per
 * span it exports, against the set always on. The same for
 * examples/gateway (alone: `npm run bench -- otel-dormant-gateway`), where
 * a setup with the set built then disabled separates what dormancy costs
 * from what the set costs by being in the process. Ratios are to the first
 * setup, measured in the same run.
 */
import { join } from 'node:path';
import type { Suite } from './harness';
import { gatewayArgs, loadOptions, printMethod, printResults } from './server';
import {
  machineLine,
  measureServers,
  pairedCpuRatios,
  type LoadOptions,
  type LoadResult,
  type ServerSetup,
} from './load';

const SERVER = join(__dirname, 'servers', 'otel-dormant-server.cjs');
const DEBUG = { 'X-Request-Debug': '*' };

const SETUPS: readonly ServerSetup[] = [
  { label: '(a) no OpenTelemetry', args: [SERVER, 'plain'] },
  { label: "(a') NodeSDK, no instrumentation", args: [SERVER, 'sdk'] },
  { label: '(b) OTel HttpInstrumentation, always on', args: [SERVER, 'otel-http-on'] },
  { label: '(c) OTel HttpInstrumentation, AlwaysOff sampler', args: [SERVER, 'otel-http-off'] },
  { label: '(d) OTel HttpInstrumentation, dormant (otel:http off)', args: [SERVER, 'otel-http-dormant'] },
  { label: '(e) OTel auto-instrumentations default set, always on', args: [SERVER, 'otel-all-on'] },
  { label: '(f) dynamic-hooks/register alone', args: [SERVER, 'register'] },
  { label: '(g) dynamic-hooks/register, OTEL set all dormant', args: [SERVER, 'register-otel-all'] },
  { label: "(e') the default set, AlwaysOff sampler", args: [SERVER, 'otel-all-off'] },
  {
    label: "(e'') the default set, dormant (dormant(list), no dynamic-hooks instrumentation)",
    args: [SERVER, 'otel-all-dormant'],
  },
  {
    label: '(h) TimingInstrumentation and the default set dormant, no debug header',
    args: [SERVER, 'timing-otel-all'],
  },
  {
    label: "(h') as (h), every request debugged (the whole set enabled on it)",
    args: [SERVER, 'timing-otel-all'],
    headers: DEBUG,
  },
];

const GATEWAY_SETUPS: readonly ServerSetup[] = [
  { label: '(a) gateway, no OpenTelemetry', args: gatewayArgs('plain') },
  { label: '(e) gateway, default set always on', args: gatewayArgs('otel-all-on') },
  { label: "(e') gateway, default set, AlwaysOff sampler", args: gatewayArgs('otel-all-off') },
  {
    label: '(e0) gateway, default set built then disabled, NodeSDK without it',
    args: gatewayArgs('otel-all-disabled'),
  },
  { label: "(e'') gateway, default set dormant", args: gatewayArgs('otel-all-dormant') },
  {
    label: '(h) gateway, timing instrumentations and the set dormant',
    args: gatewayArgs('timing-otel-all'),
  },
  {
    label: "(h') as (h), every request debugged (the whole set enabled on it)",
    args: gatewayArgs('timing-otel-all'),
    headers: DEBUG,
  },
];

/**
 * A debugged request's cost per span against the same instrumentations
 * always on (issue 14's goal: within 1.2x): the CPU a setup adds to its
 * baseline, divided by the spans it exports per request (its timing
 * contexts' included).
 */
function perSpan(debugged: LoadResult, undebugged: LoadResult, allOn: LoadResult, none: LoadResult): string {
  const cost = (x: LoadResult, base: LoadResult): number =>
    (x.cpuMicrosPerRequest - base.cpuMicrosPerRequest) / x.spansPerRequest;
  const [mine, theirs] = [cost(debugged, undebugged), cost(allOn, none)];
  return (
    `debugged, the whole set enabled: ${mine.toFixed(2)} us per span (${debugged.spansPerRequest.toFixed(2)} spans/req); ` +
    `the set always on: ${theirs.toFixed(2)} us per span (${allOn.spansPerRequest.toFixed(2)} spans/req); ` +
    `ratio ${(mine / theirs).toFixed(2)}x (goal <= 1.2x)`
  );
}

/**
 * `x` against `base`: req/s, then CPU per request as a ratio (base over
 * x, so that 0.97 reads as "3 % dearer", as req/s does) and in us. At a
 * fixed rate (BENCH_RATE) the req/s ratio only says both kept up.
 */
function ratio(x: LoadResult, base: LoadResult): string {
  const extra = x.cpuMicrosPerRequest - base.cpuMicrosPerRequest;
  return (
    `${(x.rps / base.rps).toFixed(3)} (CPU ${cpuRatio(x, base).toFixed(3)}, ` +
    `${extra >= 0 ? '+' : ''}${extra.toFixed(2)} us/req)`
  );
}

/** The server's CPU per request of `base` over that of `x`: the share of `base`'s throughput `x` would reach on the same cores. */
function cpuRatio(x: LoadResult, base: LoadResult): number {
  return base.cpuMicrosPerRequest / x.cpuMicrosPerRequest;
}

/**
 * Whether `x` reaches 0.97 of `base` (issue 14's goal for a dormant set):
 * judged on CPU per request, the figure that holds at a fixed rate, as
 * the median of the rounds' ratios (each round runs both setups, so the
 * machine's drift cancels; the quartiles show how far to trust it), with
 * req/s beside it when the load was not fixed.
 */
function meetsDormantGoal(x: LoadResult, base: LoadResult, options: LoadOptions): string {
  const { median, lower, upper } = pairedCpuRatios(x, base);
  const byCpu = `CPU by rounds ${median.toFixed(3)} ${median >= 0.97 ? 'yes' : 'no'} (quartiles ${lower.toFixed(3)}-${upper.toFixed(3)})`;
  if (options.rate !== undefined) return byCpu;
  return `${byCpu}, req/s ${(x.rps / base.rps).toFixed(3)} ${x.rps / base.rps >= 0.97 ? 'yes' : 'no'}`;
}

async function runOtelDormantSuite(): Promise<void> {
  const options = loadOptions();
  console.log('\n== otel-dormant: hello-world node:http with OpenTelemetry instrumentations, req/s over loopback ==');
  printMethod(options);
  const results = await measureServers(SETUPS, options);
  printResults(results);
  const [a, sdk, on, off, dormantHttp, allOn, register, registerAll, allOff, allDormant, timed, debugged] = results;
  console.log(
    `HttpInstrumentation vs (a): always on ${ratio(on, a)}; AlwaysOff ${ratio(off, a)}; dormant ${ratio(dormantHttp, a)}`,
  );
  console.log(
    `HttpInstrumentation vs (a'), the same SDK without it: always on ${ratio(on, sdk)}; AlwaysOff ${ratio(off, sdk)}; ` +
      `dormant ${ratio(dormantHttp, sdk)}`,
  );
  console.log(
    `default set vs (a): always on ${ratio(allOn, a)}; AlwaysOff ${ratio(allOff, a)}; dormant ${ratio(allDormant, a)}`,
  );
  console.log(`whole set dormant under register, (g)/(f): ${ratio(registerAll, register)}`);
  console.log(`per span, (h')-(h) against (e)-(a): ${perSpan(debugged, timed, allOn, a)}`);
  console.log(
    `goal dormant >= 0.97 of uninstrumented: (d)/(a') ${meetsDormantGoal(dormantHttp, sdk, options)}; ` +
      `(e'')/(a) ${meetsDormantGoal(allDormant, a, options)}; (g)/(f) ${meetsDormantGoal(registerAll, register, options)}`,
  );
  await runGatewayPart(false);
}

/** The gateway's half; `alone` when run by itself (`npm run bench -- otel-dormant-gateway`). */
async function runGatewayPart(alone: boolean): Promise<void> {
  const options = loadOptions();
  console.log('\n== otel-dormant: examples/gateway with the default set, req/s over loopback ==');
  if (alone) printMethod(options);
  else console.log(machineLine());
  const gateway = await measureServers(GATEWAY_SETUPS, options);
  printResults(gateway);
  const [ga, gOn, gOff, gDisabled, gDormant, gTimed, gDebugged] = gateway;
  console.log(
    `default set vs (a): always on ${ratio(gOn, ga)}; AlwaysOff ${ratio(gOff, ga)}; ` +
      `built then disabled ${ratio(gDisabled, ga)}; dormant ${ratio(gDormant, ga)}`,
  );
  console.log(`dormant against the set built then disabled, (e'')/(e0): ${ratio(gDormant, gDisabled)}`);
  console.log(`goal dormant >= 0.97 of uninstrumented: ${meetsDormantGoal(gDormant, ga, options)}`);
  console.log(`per span, (h')-(h) against (e)-(a): ${perSpan(gDebugged, gTimed, gOn, ga)}`);
}

export const otelDormantSuite: Suite = { name: 'otel-dormant', run: runOtelDormantSuite };
/** The gateway's half of {@link otelDormantSuite} alone. */
export const otelDormantGatewaySuite: Suite = { name: 'otel-dormant-gateway', run: () => runGatewayPart(true) };
