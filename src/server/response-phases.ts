import { type Context } from '@opentelemetry/api';
import type { ServerResponse } from 'node:http';
import { runHook } from '../core/named-hooks';
import { reportHandlerFailure } from '../core/report-failure';
import { endScope, type RequestScope } from '../core/request-scope';
import { AFTER, BEFORE, TIMING_GROUP } from '../names/hooks';
import { headersIndex, writeHeadArgsAdding, writeHeadArgsWith, writeHeadArgsWithout } from './write-head-args';
import { activeContext, withContext } from '../core/context-manager';

const apply = Reflect.apply;

/**
 * A header waiting for its response's `writeHead` (see
 * {@link setResponseHeader}), and the wrapper that will write it.
 */
class PendingHeader {
  name: string | undefined = undefined;
  value = '';

  constructor(readonly writeHead: ServerResponse['writeHead']) {}
}

/**
 * Where a request scope whose response phases run keeps its
 * {@link PendingHeader}: in the scope, not in a map keyed by responses
 * (a WeakMap keyed by every debugged request's response cost about 16 us
 * of CPU per request in a real server, in the garbage collector).
 */
const PENDING_HEADER = Symbol('dynamic-hooks pending response header');

/**
 * Sets a header of `res` (the response of request scope `scope`) unless its
 * headers were sent. On a response whose phases run (a debugged
 * request's), it goes with the arguments of the `writeHead` call that
 * writes the headers: when that call passes no headers (`res.end()` alone,
 * or `writeHead(status)`), Node then writes it as given without building
 * the response's header table, which costs a debugged hello world about
 * 5 us of CPU in a real server. It replaces a header of the same name the
 * application set or passes, as `setHeader` would. If something else now
 * stands where the `writeHead` wrapper was, the header is set at once.
 */
export function setResponseHeader(scope: RequestScope, res: ServerResponse, name: string, value: string): void {
  if (res.headersSent) return;
  const pending = scope.data?.get(PENDING_HEADER) as PendingHeader | undefined;
  if (pending === undefined || res.writeHead !== pending.writeHead) {
    res.setHeader(name, value);
    return;
  }
  pending.name = name;
  pending.value = value;
}

/**
 * Runs the response phases, each hook given the response: header_filter
 * when the headers are written (headers its hooks set win over those
 * passed to `writeHead`), body_filter around each write and end, and log
 * once the response is closed, after which the request scope ends.
 */
export function traceResponse(res: ServerResponse, scope: RequestScope): void {
  const requestContext = activeContext();
  let headerDone = false;
  /** The names of the headers the header_filter hooks set or changed (known only when `writeHead` passes headers). */
  let filtered: string[] = [];
  /**
   * Runs header_filter once. `snapshot`: the headers are written by a
   * `writeHead` call that passes headers of its own, over which those the
   * hooks set must win, so the hooks' are told apart; otherwise no header
   * passed can override them.
   */
  const headerFilter = (snapshot: boolean): void => {
    if (headerDone || res.headersSent) return;
    headerDone = true;
    const before = snapshot ? res.getHeaders() : undefined;
    runHook(TIMING_GROUP, BEFORE.header_filter, res);
    runHook(TIMING_GROUP, AFTER.header_filter, res);
    if (before !== undefined) filtered = res.getHeaderNames().filter((name) => res.getHeader(name) !== before[name]);
  };
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  const wrapper = function (this: ServerResponse): ServerResponse {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments;
    const passesHeaders = headersIndex(args) >= 0;
    inContext(requestContext, headerFilter, passesHeaders);
    return apply(writeHead, this, argsToWrite(pending, args, filtered, passesHeaders)) as ServerResponse;
  } as ServerResponse['writeHead'];
  const pending = new PendingHeader(wrapper);
  (scope.data ??= new Map()).set(PENDING_HEADER, pending);
  res.writeHead = wrapper;
  res.write = bodyFilter(write, requestContext, headerFilter, res);
  res.end = bodyFilter(end, requestContext, headerFilter, res);
  res.once('close', () => {
    // A throw here would escape from an event listener and end the process
    // (a span processor that throws when the root span ends, say): report it.
    try {
      withContext(requestContext, logPhase, undefined, res);
    } catch (error) {
      reportHandlerFailure(TIMING_GROUP, 'log', error);
    } finally {
      endScope(scope);
    }
  });
}

/**
 * The arguments to give the original `writeHead` for a call with
 * `args` (which `passesHeaders` or not): without the headers `filtered`
 * (the header_filter hooks' win), and with the header waiting for it, if
 * any (see {@link setResponseHeader}).
 */
function argsToWrite(
  pending: PendingHeader,
  args: ArrayLike<unknown>,
  filtered: readonly string[],
  passesHeaders: boolean,
): ArrayLike<unknown> {
  const name = pending.name;
  if (name === undefined) return writeHeadArgsWithout(args, filtered);
  pending.name = undefined;
  // No headers passed: none to filter either.
  if (!passesHeaders) return writeHeadArgsWith(args, name, pending.value);
  // The call passes headers: ours goes among them, replacing one of the same name (see writeHeadArgsAdding).
  return writeHeadArgsAdding(args, filtered, name, pending.value);
}

/**
 * Runs `fn(arg)` in `ctx`: directly when `ctx` is already active (a
 * handler writing its response in the request's own context, the common
 * case), else through `context.with`, whose AsyncLocalStorage frame costs
 * far more than the check.
 */
function inContext<A>(ctx: Context, fn: (arg: A) => void, arg: A): void {
  if (activeContext() === ctx) fn(arg);
  else withContext(ctx, fn, undefined, arg);
}

/** The response is over: the log phase is the request's last. */
function logPhase(res: ServerResponse): void {
  runHook(TIMING_GROUP, BEFORE.log, res);
  runHook(TIMING_GROUP, AFTER.log, res);
}

function bodyFilter<F extends (...args: never[]) => unknown>(
  original: F,
  requestContext: Context,
  headerFilter: (snapshot: boolean) => void,
  res: ServerResponse,
): F {
  // Headers written by a write or end pass none of their own.
  const before = (): void => {
    headerFilter(false);
    runHook(TIMING_GROUP, BEFORE.body_filter, res);
  };
  const after = (): void => {
    runHook(TIMING_GROUP, AFTER.body_filter, res);
  };
  return function (this: ServerResponse): unknown {
    inContext(requestContext, before, undefined);
    try {
      // eslint-disable-next-line prefer-rest-params
      return apply(original, this, arguments) as unknown;
    } finally {
      inContext(requestContext, after, undefined);
    }
  } as unknown as F;
}
