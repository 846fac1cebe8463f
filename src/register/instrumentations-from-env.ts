import type { Instrumentation, InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  DgramInstrumentation,
  DnsInstrumentation,
  HttpClientInstrumentation,
  IoRedisInstrumentation,
  NetInstrumentation,
  NodeRedisInstrumentation,
  UndiciInstrumentation,
} from '../../instrumentations';
import { TimingInstrumentation } from '../timing/timing-instrumentation';

/** The environment variable that picks the library instrumentations `dynamic-hooks/register` starts. */
export const INSTRUMENTATIONS_ENV = 'DYNAMIC_HOOKS_INSTRUMENTATIONS';

/** OpenTelemetry's variables for the same choice (read as `@opentelemetry/auto-instrumentations-node` reads them). */
export const OTEL_ENABLED_ENV = 'OTEL_NODE_ENABLED_INSTRUMENTATIONS';
export const OTEL_DISABLED_ENV = 'OTEL_NODE_DISABLED_INSTRUMENTATIONS';

type Library = new (config?: InstrumentationConfig) => Instrumentation;

/** The library instrumentations by the name the variables use for them, in start order. */
const LIBRARIES = new Map<string, Library>([
  ['dns', DnsInstrumentation],
  ['http-client', HttpClientInstrumentation],
  ['undici', UndiciInstrumentation],
  ['net', NetInstrumentation],
  ['dgram', DgramInstrumentation],
  ['ioredis', IoRedisInstrumentation],
  ['node-redis', NodeRedisInstrumentation],
]);

/** Names `DYNAMIC_HOOKS_INSTRUMENTATIONS` accepts, one per library instrumentation. */
export const LIBRARY_NAMES = [...LIBRARIES.keys()];

/**
 * Other spellings, accepted in every variable: OpenTelemetry's names
 * (`http`, `redis`), as `OTEL_NODE_*_INSTRUMENTATIONS` lists carry them.
 */
const ALIASES = new Map([
  ['http', 'http-client'],
  ['redis', 'node-redis'],
]);

/**
 * The timing module and the library instrumentations the environment
 * selects, created disabled: `NodeSDK#start()` enables them, so nothing is
 * patched when `OTEL_SDK_DISABLED=true`. The timing module is always there
 * (`DYNAMIC_HOOKS_REQUEST_DEBUG=off` switches request debugging off).
 *
 * - `DYNAMIC_HOOKS_INSTRUMENTATIONS`, when set, decides alone: a
 *   comma-separated list of {@link LIBRARY_NAMES} (or `http`, `redis`);
 *   `all` for every one, `none` for the timing module alone.
 * - Otherwise OpenTelemetry's conventions, as
 *   `@opentelemetry/auto-instrumentations-node` applies them:
 *   `OTEL_NODE_ENABLED_INSTRUMENTATIONS` (when set, only those), then
 *   `OTEL_NODE_DISABLED_INSTRUMENTATIONS` removed; names as above.
 * - Neither: every library instrumentation.
 *
 * Names that match no instrumentation are pushed onto `warnings`, naming
 * them and the variable.
 */
export function instrumentationsFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): Instrumentation[] {
  const chosen = selectedLibraries(env, warnings);
  const off = { enabled: false };
  return [
    new TimingInstrumentation(off),
    ...[...LIBRARIES].filter(([name]) => chosen.has(name)).map(([, Library]) => new Library(off)),
  ];
}

/** The names of the selected libraries. */
function selectedLibraries(env: NodeJS.ProcessEnv, warnings: string[]): Set<string> {
  const own = namesIn(env, INSTRUMENTATIONS_ENV, warnings, ['all', 'none']);
  if (own !== undefined) {
    if (own.includes('all')) return new Set(LIBRARY_NAMES);
    if (own.includes('none')) return new Set();
    return new Set(own);
  }
  const enabled = namesIn(env, OTEL_ENABLED_ENV, warnings);
  const disabled = namesIn(env, OTEL_DISABLED_ENV, warnings) ?? [];
  const chosen = new Set(enabled ?? LIBRARY_NAMES);
  for (const name of disabled) chosen.delete(name);
  return chosen;
}

/**
 * The instrumentation names a comma-separated variable lists (aliases
 * resolved, `keywords` kept), or `undefined` when it is unset or empty.
 * Unknown names are reported and left out.
 */
function namesIn(
  env: NodeJS.ProcessEnv,
  variable: string,
  warnings: string[],
  keywords: readonly string[] = [],
): string[] | undefined {
  const names = (env[variable] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.length === 0) return undefined;
  const known: string[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const canonical = ALIASES.get(name) ?? name;
    if (LIBRARIES.has(canonical) || keywords.includes(canonical)) known.push(canonical);
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    warnings.push(
      `${variable}: no dynamic-hooks instrumentation is named ${unknown.join(', ')} (ignored); ` +
        `known: ${[...keywords, ...LIBRARY_NAMES, ...ALIASES.keys()].join(', ')}`,
    );
  }
  return known;
}
