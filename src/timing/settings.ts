import type { Tracer } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  CLIENT_ADDRESS_HEADERS,
  ClientAddressSource,
  MAX_TRUSTED_HOPS,
  type ClientAddressHeader,
} from './client-address';
import { checkOneOf, describe } from '../core/validate';
import { resolveDebugOtelGroups, type DebugOtelGroups } from '../otel/debug-groups';
import { defaultLogger, tellOperator, type RequestDebugLogger } from './logger';
import { DEFAULT_HEADER_PREFIX, HEADER_NAME } from '../names/debug-headers';
import { configuredToken, generateToken } from '../token/debug-token';

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
  /**
   * CIDR ranges (or single addresses) of the proxies in front of the
   * server; default none: the client is the peer and no header is read.
   * When the peer is one of them, the client's address comes from
   * `clientAddressHeader`. Env `DYNAMIC_HOOKS_TRUSTED_PROXIES`
   * (comma-separated) sets it. See docs/proxies.md.
   */
  trustedProxies?: string[];
  /**
   * The header a trusted proxy names the client in: `'x-forwarded-for'`
   * (default; read from the right, skipping `trustedProxies`, or
   * `trustedHops` entries from the right), `'forwarded'` (RFC 7239 `for=`,
   * read the same way) or `'x-real-ip'` (only when every trusted proxy
   * sets it, replacing the client's own). Read only from a trusted peer.
   * Env `DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER` sets it.
   */
  clientAddressHeader?: ClientAddressHeader;
  /**
   * How many proxies stand in front of the server, 0 to 32; default 0
   * (walk `X-Forwarded-For` past `trustedProxies` instead). With n, the
   * client is the n-th `X-Forwarded-For` / `Forwarded` entry from the
   * right. With `trustedProxies` empty, a positive count trusts every peer
   * as the nearest proxy: only for a server that nothing but its proxies
   * can reach. Env `DYNAMIC_HOOKS_TRUSTED_HOPS` sets it.
   */
  trustedHops?: number;
  /** Where log output goes; default `diag.info` if a diag logger is set, else stderr. */
  logger?: RequestDebugLogger;
  /**
   * Open a request scope for every request (default), so that
   * `enableOnThisRequest` works in any request; `false` opens one only for
   * requests that carry a debug header. On Node.js before 22, where
   * AsyncLocalStorage runs on async_hooks, the first request scope makes
   * every async operation of the process pay for context propagation
   * (about 1.6 us of CPU per hello-world request here, see docs/benchmarks.md,
   * Server); `false` avoids that cost for undebugged requests when
   * nothing else in the process propagates context.
   */
  scopeEveryRequest?: boolean;
  /**
   * The dormant OpenTelemetry instrumentations (see `dormant`) a debug
   * request turns on with `timing`: `'all'` (default: every `otel:*`
   * group), `'none'`, or a list of groups (`'otel:pg'`) or instrumentation
   * names (`'pg'`). Env `DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS` (`all`, `none`
   * or a comma-separated list) overrides it.
   */
  otelGroups?: DebugOtelGroups;
  /**
   * How many spans one debugged request may record, its root span, its
   * timing contexts' and other instrumentations' included: 1 to
   * 1,000,000, default 1,000. Past it the request's timing tree goes on
   * (its root says `spans_dropped`), but no more spans are started or
   * recorded for it, so a handler that writes a response in 100,000 pieces
   * costs its own work, not 100,000 spans. Env
   * `DYNAMIC_HOOKS_MAX_SPANS_PER_REQUEST` sets it.
   */
  maxSpansPerRequest?: number;
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
  /** Where the client's address comes from. */
  readonly clientAddress: ClientAddressSource;
  readonly logger: RequestDebugLogger;
  /** The instrumentation's current tracer (the SDK may set its provider after construction). */
  readonly tracer: () => Tracer;
  /** The `otel:*` groups a debug request enables (see `TimingInstrumentationConfig.otelGroups`). */
  readonly otelGroups: 'all' | 'none' | ReadonlySet<string>;
  /** Spans one debugged request may record (see `TimingInstrumentationConfig.maxSpansPerRequest`). */
  readonly maxSpansPerRequest: number;
}

/** The environment overrides the code: operators switch the feature without a redeploy. */
export function resolveSettings(
  config: TimingInstrumentationConfig,
  tracer: () => Tracer,
  env: NodeJS.ProcessEnv = process.env,
  /** The token to use when none is configured: the instance keeps one across reconfigurations. */
  generatedToken: () => string = generateToken,
): TimingSettings {
  const requestDebug = parseSwitch(env.DYNAMIC_HOOKS_REQUEST_DEBUG) ?? config.requestDebug ?? true;
  if (typeof requestDebug !== 'boolean') throw new TypeError('requestDebug must be a boolean');
  const token = configuredToken(config.token, env);
  const prefix = config.headerPrefix ?? DEFAULT_HEADER_PREFIX;
  if (typeof prefix !== 'string' || !HEADER_NAME.test(prefix)) {
    throw new TypeError(`headerPrefix must be a valid header name, got ${describe(prefix)}`);
  }
  const clientAddress = clientAddressSource(config, env);
  const scopeEveryRequest = config.scopeEveryRequest ?? true;
  if (typeof scopeEveryRequest !== 'boolean') throw new TypeError('scopeEveryRequest must be a boolean');
  const logger = config.logger ?? defaultLogger;
  if (typeof logger !== 'function') throw new TypeError('logger must be a function');
  const lower = prefix.toLowerCase();
  return {
    requestDebug,
    scopeEveryRequest,
    token: token ?? generatedToken(),
    tokenGenerated: token === undefined,
    headers: { request: lower, token: `${lower}-token`, log: `${lower}-log`, output: `${prefix}-Output` },
    clientAddress,
    logger,
    tracer,
    otelGroups: envOverride(
      env,
      DEBUG_OTEL_GROUPS_ENV,
      parseDebugOtelGroups,
      resolveDebugOtelGroups(config.otelGroups),
    ),
    maxSpansPerRequest: envOverride(
      env,
      MAX_SPANS_ENV,
      (text) => checkIntegerIn(integerText(text), MAX_SPANS_ENV, 1, MAX_SPANS_LIMIT),
      checkIntegerIn(config.maxSpansPerRequest ?? DEFAULT_MAX_SPANS, 'maxSpansPerRequest', 1, MAX_SPANS_LIMIT),
    ),
  };
}

/** Env name of the `maxSpansPerRequest` option. */
export const MAX_SPANS_ENV = 'DYNAMIC_HOOKS_MAX_SPANS_PER_REQUEST';
/** The default of `maxSpansPerRequest`. */
export const DEFAULT_MAX_SPANS = 1000;
const MAX_SPANS_LIMIT = 1_000_000;

/** An integer option from `min` to `max`; otherwise a TypeError or RangeError naming `option`. */
function checkIntegerIn(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${option} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${option} must be from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** A variable's text as the number its digits spell, or the text itself (which the check then refuses). */
function integerText(text: string): unknown {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : text;
}

/**
 * Variable `name` of `env` parsed by `parse` if set, else `code` (the
 * code's setting, checked already). A bad variable is reported (diag and
 * stderr, see `tellOperator`) and ignored, which leaves the code's setting.
 */
function envOverride<T>(env: NodeJS.ProcessEnv, name: string, parse: (text: string) => T, code: T): T {
  const text = env[name];
  if (text === undefined || text.trim() === '') return code;
  try {
    return parse(text);
  } catch (error) {
    tellOperator('warn', `${name} ignored: ${error instanceof Error ? error.message : String(error)}`);
    return code;
  }
}

/** Env name of the `otelGroups` option: `all`, `none`, or a comma-separated list. */
export const DEBUG_OTEL_GROUPS_ENV = 'DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS';

/** `DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS`'s text as the `otelGroups` option takes it. */
function parseDebugOtelGroups(text: string): 'all' | 'none' | ReadonlySet<string> {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 1 && (names[0] === 'all' || names[0] === 'none')) return names[0];
  if (names.some((name) => name === 'all' || name === 'none')) {
    throw new TypeError(`'all' and 'none' stand alone, got "${text}"`);
  }
  return resolveDebugOtelGroups(names, DEBUG_OTEL_GROUPS_ENV);
}

/** Env names of the client-address options. */
export const TRUSTED_PROXIES_ENV = 'DYNAMIC_HOOKS_TRUSTED_PROXIES';
export const CLIENT_ADDRESS_HEADER_ENV = 'DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER';
export const TRUSTED_HOPS_ENV = 'DYNAMIC_HOOKS_TRUSTED_HOPS';

/**
 * The client-address options, the environment winning over the code. A bad
 * option throws naming it; a bad variable is reported (diag and stderr, see
 * `tellOperator`) and ignored, which leaves the code's (or the safe default) setting.
 */
function clientAddressSource(config: TimingInstrumentationConfig, env: NodeJS.ProcessEnv): ClientAddressSource {
  const fromEnv = <T>(name: string, parse: (text: string) => T, code: T): T => envOverride(env, name, parse, code);
  const trustedProxies = fromEnv(
    TRUSTED_PROXIES_ENV,
    (text) =>
      checkRanges(
        text
          .split(',')
          .map((range) => range.trim())
          .filter((range) => range !== ''),
        TRUSTED_PROXIES_ENV,
      ),
    checkRanges(config.trustedProxies ?? [], 'trustedProxies'),
  );
  const header = fromEnv(
    CLIENT_ADDRESS_HEADER_ENV,
    (text) => checkHeader(text.trim(), CLIENT_ADDRESS_HEADER_ENV),
    checkHeader(config.clientAddressHeader ?? 'x-forwarded-for', 'clientAddressHeader'),
  );
  const trustedHops = fromEnv(
    TRUSTED_HOPS_ENV,
    (text) => checkIntegerIn(integerText(text), TRUSTED_HOPS_ENV, 0, MAX_TRUSTED_HOPS),
    checkIntegerIn(config.trustedHops ?? 0, 'trustedHops', 0, MAX_TRUSTED_HOPS),
  );
  const source = new ClientAddressSource({ trustedProxies, header, trustedHops });
  if (!source.trustsProxies && (config.clientAddressHeader !== undefined || env[CLIENT_ADDRESS_HEADER_ENV])) {
    tellOperator(
      'warn',
      'clientAddressHeader has no effect without trustedProxies or trustedHops: the client is the peer',
    );
  }
  return source;
}

function checkRanges(ranges: unknown, option: string): string[] {
  if (!Array.isArray(ranges)) {
    throw new TypeError(`${option} must be an array of CIDR strings, got ${describe(ranges)}`);
  }
  // Validates every entry (TypeError or RangeError naming it).
  new ClientAddressSource({ trustedProxies: ranges as string[], header: 'x-forwarded-for', trustedHops: 0 });
  return (ranges as string[]).map((range) => range.trim());
}

function checkHeader(value: unknown, option: string): ClientAddressHeader {
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  checkOneOf(lower, CLIENT_ADDRESS_HEADERS, option);
  return lower;
}

function parseSwitch(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  tellOperator('warn', `DYNAMIC_HOOKS_REQUEST_DEBUG=${JSON.stringify(value)} is not on/off; ignored`);
  return undefined;
}
