import { describe } from '../core/validate';
import { MAX_TIMEOUT_MS, MIN_TIMEOUT_MS } from './cluster-protocol';

/** The default path prefix of the admin routes. */
export const DEFAULT_BASE_PATH = '/dynamic-hooks';

/** Options of {@link createAdminHandler}. */
export interface AdminHandlerOptions {
  /**
   * The secret clients must send as `Authorization: Bearer <token>`.
   * Required; compared in constant time.
   */
  readonly token: string;
  /**
   * Path prefix of the routes, default `/dynamic-hooks`. Use `'/'` when a
   * framework already strips a mount path (Express `app.use('/ops', handler)`).
   */
  readonly basePath?: string;
  /**
   * In a node:cluster worker: `true` (the default) makes a switch reach
   * every worker and `GET` answer for every worker, through the relay in
   * the primary (see `relayAdminToWorkers`); `false` keeps the endpoint to
   * this worker alone. Outside a cluster worker it changes nothing.
   */
  readonly cluster?: boolean;
  /**
   * In a node:cluster worker: milliseconds the primary's relay has to
   * acknowledge a request, and each worker to answer; default 1000.
   */
  readonly clusterTimeoutMs?: number;
}

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions extends AdminHandlerOptions {
  /** TCP port; default `0`, an ephemeral port (read it from the result). */
  readonly port?: number;
  /** Interface to bind, default `127.0.0.1` (loopback only). */
  readonly host?: string;
  /**
   * Milliseconds a client has to send the request line and headers before
   * the server answers 408 and closes the connection; default 5000. A
   * connection that sends nothing is closed after the same time.
   */
  readonly headersTimeoutMs?: number;
  /** Milliseconds a client has to send the whole request, body included; default 5000, at least `headersTimeoutMs`. */
  readonly requestTimeoutMs?: number;
  /** Milliseconds an idle keep-alive connection stays open after a response; default 1000. */
  readonly keepAliveTimeoutMs?: number;
  /** Connections open at once; beyond it new connections are closed on arrival. Default 32. */
  readonly maxConnections?: number;
}

/** Defaults of {@link AdminServerOptions}' limits. */
export const ADMIN_SERVER_LIMITS = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 1_000,
  maxConnections: 32,
} as const;

/** Validated limits of the admin server. */
export interface AdminServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
}

/** Validated handler options. */
export interface AdminSettings {
  readonly token: string;
  /** `''` for the root, otherwise `/segment...` without a trailing slash. */
  readonly basePath: string;
  /** Relay through the cluster primary when this process is a cluster worker. */
  readonly cluster: boolean;
  readonly clusterTimeoutMs: number;
}

/** Default of {@link AdminHandlerOptions.clusterTimeoutMs}. */
export const DEFAULT_CLUSTER_TIMEOUT_MS = 1_000;

export function adminSettings(options: unknown): AdminSettings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object with a token, got ${describe(options)}`);
  }
  const {
    token,
    basePath = DEFAULT_BASE_PATH,
    cluster = true,
    clusterTimeoutMs = DEFAULT_CLUSTER_TIMEOUT_MS,
  } = options as Record<string, unknown>;
  if (typeof token !== 'string' || token.length === 0) {
    // Never echo the value: it may be a secret of the wrong type.
    const got = token === '' ? 'an empty string' : token === null ? 'null' : typeof token;
    throw new TypeError(`options.token must be a non-empty string, got ${got}`);
  }
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || /[?#\s]/.test(basePath)) {
    throw new TypeError(`options.basePath must be a path that starts with '/', got ${describe(basePath)}`);
  }
  if (typeof cluster !== 'boolean') {
    throw new TypeError(`options.cluster must be a boolean, got ${describe(cluster)}`);
  }
  if (typeof clusterTimeoutMs !== 'number' || !Number.isInteger(clusterTimeoutMs)) {
    throw new TypeError(`options.clusterTimeoutMs must be an integer, got ${describe(clusterTimeoutMs)}`);
  }
  if (clusterTimeoutMs < MIN_TIMEOUT_MS || clusterTimeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(
      `options.clusterTimeoutMs must be from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}, got ${clusterTimeoutMs}`,
    );
  }
  return { token, basePath: basePath.replace(/\/+$/, ''), cluster, clusterTimeoutMs };
}

export function serverAddress(options: AdminServerOptions): { port: number; host: string } {
  const { port = 0, host = '127.0.0.1' } = options;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`options.port must be an integer from 0 to 65535, got ${describe(port)}`);
  }
  if (typeof host !== 'string' || host.length === 0) {
    throw new TypeError(`options.host must be a non-empty string, got ${describe(host)}`);
  }
  return { port, host };
}

/** The server's limits, each a positive integer (a TypeError or RangeError names the option). */
export function serverLimits(options: AdminServerOptions): AdminServerLimits {
  const headersTimeoutMs = positiveInteger(options, 'headersTimeoutMs', 1, 3_600_000);
  const requestTimeoutMs = positiveInteger(options, 'requestTimeoutMs', 1, 3_600_000);
  const keepAliveTimeoutMs = positiveInteger(options, 'keepAliveTimeoutMs', 1, 3_600_000);
  const maxConnections = positiveInteger(options, 'maxConnections', 1, 1_000_000);
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new RangeError(
      `options.requestTimeoutMs (${requestTimeoutMs}) must be at least options.headersTimeoutMs (${headersTimeoutMs})`,
    );
  }
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections };
}

function positiveInteger(
  options: AdminServerOptions,
  name: keyof typeof ADMIN_SERVER_LIMITS,
  min: number,
  max: number,
): number {
  const value: unknown = options[name] ?? ADMIN_SERVER_LIMITS[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`options.${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`options.${name} must be from ${min} to ${max}, got ${value}`);
  }
  return value;
}
