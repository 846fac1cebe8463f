import type { Instrumentation } from '@opentelemetry/instrumentation';
import { getTimingInstrumentations } from '../../instrumentations';

/** The environment variable that picks the library instrumentations `dynamic-hooks/register` starts. */
export const INSTRUMENTATIONS_ENV = 'DYNAMIC_HOOKS_INSTRUMENTATIONS';

/** Names `DYNAMIC_HOOKS_INSTRUMENTATIONS` accepts, one per library instrumentation. */
export const LIBRARY_NAMES = ['dns', 'http-client', 'undici', 'net', 'dgram', 'ioredis', 'node-redis'] as const;

/**
 * The timing module and the library instrumentations that
 * `DYNAMIC_HOOKS_INSTRUMENTATIONS` names (a comma-separated list of
 * {@link LIBRARY_NAMES}; `all` or unset for every one, `none` for the timing
 * module alone). They are created disabled: `NodeSDK#start()` enables them,
 * so nothing is patched when `OTEL_SDK_DISABLED=true`, and their start-up
 * messages go to the diag logger the SDK sets from `OTEL_LOG_LEVEL`.
 * Unknown names are pushed onto `warnings`.
 */
export function instrumentationsFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): Instrumentation[] {
  const wanted = selectedLibraries(env[INSTRUMENTATIONS_ENV], warnings);
  const off = { enabled: false };
  const [timing, ...libraries] = getTimingInstrumentations({
    enabled: false,
    libraries: { dns: off, httpClient: off, undici: off, net: off, dgram: off, ioredis: off, nodeRedis: off },
  });
  return [timing, ...libraries.filter((library) => wanted.has(library.instrumentationName))];
}

/** The `instrumentationName`s of the selected libraries. */
function selectedLibraries(value: string | undefined, warnings: string[]): Set<string> {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const known = new Set<string>(LIBRARY_NAMES);
  let chosen: string[];
  if (names.length === 0 || names.includes('all')) chosen = [...LIBRARY_NAMES];
  else if (names.includes('none')) chosen = [];
  else {
    chosen = names.filter((name) => known.has(name));
    const unknown = names.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      warnings.push(
        `${INSTRUMENTATIONS_ENV}: unknown ${unknown.join(', ')} ignored; known: all, none, ${LIBRARY_NAMES.join(', ')}`,
      );
    }
  }
  return new Set(chosen.map((name) => `dynamic-hooks-${name}`));
}
