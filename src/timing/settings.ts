import { diag, type Tracer } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import { TrustedProxies } from './client-address';
import { defaultLogger, type RequestDebugLogger } from './logger';
import { DEFAULT_HEADER_PREFIX, HEADER_NAME } from './names';
import { configuredToken, generateToken } from './token';

/** Configuration of `TimingInstrumentation`. */
export interface TimingInstrumentationConfig extends InstrumentationConfig {
  /** Request debugging on or off; default on. Env `DYNAMIC_HOOKS_REQUEST_DEBUG=off` turns it off. */
  requestDebug?: boolean;
  /**
   * Token that non-loopback clients must send in `<prefix>-Token`; default a
   * random UUID, readable as `instrumentation.token`. Env
   * `DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN` sets it.
   */
  token?: string;
  /** Prefix of the request and response headers; default `X-Request-Debug`. `X-Kong-Request-Debug` speaks Kong's. */
  headerPrefix?: string;
  /** CIDR ranges of proxies whose `X-Real-IP` / `X-Forwarded-For` name the client; default none. */
  trustedProxies?: string[];
  /** Where log output goes; default `diag.info` if a diag logger is set, else stderr. */
  logger?: RequestDebugLogger;
  /**
   * Open a request scope for every request (default), so that
   * `enableOnThisRequest` works in any request; `false` opens one only for
   * requests that carry a debug header. On Node.js before 22, where
   * AsyncLocalStorage runs on async_hooks, the first request scope makes
   * every async operation of the process pay for context propagation
   * (about 1.6 us of CPU per hello-world request here, see the README's
   * Speed section); `false` avoids that cost for undebugged requests when
   * nothing else in the process propagates context.
   */
  scopeEveryRequest?: boolean;
}

/** The header names of one prefix, lower-cased as Node presents request headers. */
export interface DebugHeaders {
  readonly request: string;
  readonly token: string;
  readonly log: string;
  /** The response header, as configured. */
  readonly output: string;
}

/** Configuration resolved against the environment, as the running module uses it. */
export interface TimingSettings {
  readonly requestDebug: boolean;
  readonly scopeEveryRequest: boolean;
  readonly token: string;
  readonly tokenGenerated: boolean;
  readonly headers: DebugHeaders;
  readonly trustedProxies: TrustedProxies;
  readonly logger: RequestDebugLogger;
  /** The instrumentation's current tracer (the SDK may set its provider after construction). */
  readonly tracer: () => Tracer;
}

/** The environment overrides the code: operators switch the feature without a redeploy. */
export function resolveSettings(
  config: TimingInstrumentationConfig,
  tracer: () => Tracer,
  env: NodeJS.ProcessEnv = process.env,
): TimingSettings {
  const requestDebug = parseSwitch(env.DYNAMIC_HOOKS_REQUEST_DEBUG) ?? config.requestDebug ?? true;
  if (typeof requestDebug !== 'boolean') throw new TypeError('requestDebug must be a boolean');
  const token = configuredToken(config.token, env);
  const prefix = config.headerPrefix ?? DEFAULT_HEADER_PREFIX;
  if (typeof prefix !== 'string' || !HEADER_NAME.test(prefix)) {
    throw new TypeError(`headerPrefix must be a valid header name, got ${JSON.stringify(prefix)}`);
  }
  const ranges = config.trustedProxies ?? [];
  if (!Array.isArray(ranges)) throw new TypeError('trustedProxies must be an array of CIDR strings');
  const scopeEveryRequest = config.scopeEveryRequest ?? true;
  if (typeof scopeEveryRequest !== 'boolean') throw new TypeError('scopeEveryRequest must be a boolean');
  const logger = config.logger ?? defaultLogger;
  if (typeof logger !== 'function') throw new TypeError('logger must be a function');
  const lower = prefix.toLowerCase();
  return {
    requestDebug,
    scopeEveryRequest,
    token: token ?? generateToken(),
    tokenGenerated: token === undefined,
    headers: { request: lower, token: `${lower}-token`, log: `${lower}-log`, output: `${prefix}-Output` },
    trustedProxies: new TrustedProxies(ranges),
    logger,
    tracer,
  };
}

function parseSwitch(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  diag.warn(`dynamic-hooks: DYNAMIC_HOOKS_REQUEST_DEBUG=${value} is not on/off; ignored`);
  return undefined;
}
