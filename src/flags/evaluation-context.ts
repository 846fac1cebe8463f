import type { IncomingMessage } from 'node:http';
import { runHook } from '../core/named-hooks';
import { CLIENT_ADDRESS_HOOK, TIMING_AUTH_GROUP } from '../names/hooks';
import type { FlagContext } from './flagd-rules';

/** Values an application may add to a request's evaluation context. */
export type FlagContextValue = string | number | boolean | null | undefined;

/** Adds application fields (a tenant, a user id, a route it knows) to a request's evaluation context. */
export type FlagContextHook = (req: IncomingMessage) => Record<string, FlagContextValue> | undefined;

/** How a request's evaluation context is built. */
export interface ContextSettings {
  /** Allow-listed request headers, lower-cased. */
  readonly headers: readonly string[];
  readonly addContext: FlagContextHook | undefined;
  /**
   * The context field whose value is the `targetingKey` (dotted for a
   * header: `headers.x-user-id`); `undefined`: a fresh key per request, so
   * that a fractional rule samples requests.
   */
  readonly targetingKey: string | undefined;
}

let requestCounter = 0;
const KEY_PREFIX = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;

/**
 * The evaluation context of a request: `method`, `path` (without the
 * query), `clientAddress` (as the timing module resolves it, trusted
 * proxies included), `headers` (a nested object of the allow-listed
 * headers the request carries, lower-cased names), what the application's
 * hook adds (`route`, say), and `targetingKey`.
 */
export function requestContext(settings: ContextSettings, req: IncomingMessage): FlagContext {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const ctx: FlagContext = {
    method: req.method ?? '',
    path: query === -1 ? url : url.slice(0, query),
    clientAddress: clientAddress(req),
    headers: allowedHeaders(settings.headers, req.rawHeaders),
  };
  if (settings.addContext !== undefined) {
    const added = settings.addContext(req);
    if (added !== undefined && added !== null) Object.assign(ctx, added);
  }
  ctx.targetingKey = targetingKey(settings.targetingKey, ctx);
  return ctx;
}

function clientAddress(req: IncomingMessage): string | undefined {
  // The timing module's reading (trusted proxies), when it is registered.
  const client = runHook(TIMING_AUTH_GROUP, CLIENT_ADDRESS_HOOK, req);
  return typeof client === 'string' ? client : req.socket?.remoteAddress;
}

/** The allow-listed headers, read from `rawHeaders` (reading `req.headers` would build every header's entry). */
function allowedHeaders(names: readonly string[], raw: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (names.length === 0) return headers;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!names.includes(name)) continue;
    // Repeated headers join as Node joins them in req.headers.
    headers[name] = headers[name] === undefined ? raw[i + 1] : `${headers[name]}, ${raw[i + 1]}`;
  }
  return headers;
}

function targetingKey(field: string | undefined, ctx: FlagContext): string {
  if (field !== undefined) {
    const value = field.startsWith('headers.')
      ? (ctx.headers as Record<string, string>)[field.slice('headers.'.length)]
      : ctx[field];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  }
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return KEY_PREFIX + requestCounter.toString(36);
}
