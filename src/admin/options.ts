import { describe } from '../core/validate';

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
}

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions extends AdminHandlerOptions {
  /** TCP port; default `0`, an ephemeral port (read it from the result). */
  readonly port?: number;
  /** Interface to bind, default `127.0.0.1` (loopback only). */
  readonly host?: string;
}

/** Validated handler options. */
export interface AdminSettings {
  readonly token: string;
  /** `''` for the root, otherwise `/segment...` without a trailing slash. */
  readonly basePath: string;
}

export function adminSettings(options: unknown): AdminSettings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object with a token, got ${describe(options)}`);
  }
  const { token, basePath = DEFAULT_BASE_PATH } = options as Record<string, unknown>;
  if (typeof token !== 'string' || token.length === 0) {
    // Never echo the value: it may be a secret of the wrong type.
    const got = token === '' ? 'an empty string' : token === null ? 'null' : typeof token;
    throw new TypeError(`options.token must be a non-empty string, got ${got}`);
  }
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || /[?#\s]/.test(basePath)) {
    throw new TypeError(`options.basePath must be a path that starts with '/', got ${describe(basePath)}`);
  }
  return { token, basePath: basePath.replace(/\/+$/, '') };
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
