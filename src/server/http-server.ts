import { context } from '@opentelemetry/api';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { runInContext } from '../core/context-manager';
import { runHook } from '../core/named-hooks';
import { reportHandlerFailure } from '../core/report-failure';
import { contextWithNewScope, endScope, type RequestScope } from '../core/request-scope';
import { trackListening } from './listening-servers';
import { debugRequestOfScope, type DebugRequest } from '../timing/debug-request';
import { writeHeaderOutput, writeLogOutput } from '../timing/timing-hooks';
import { writeHeadArgsWithout } from './raw-headers';

const apply = Reflect.apply;
type Emit = Server['emit'];

/** Hook names of the timing module that the server integration runs. */
const AUTH: [string, string] = ['timing:auth', 'auth'];

/**
 * Which requests get a request scope: every one (the default), or, when
 * set, only those this predicate accepts (the others run as if the
 * server were not instrumented).
 */
let scopeFilter: ((req: IncomingMessage) => boolean) | undefined;

/** Sets which requests get a request scope (`undefined`: every request). */
export function setRequestScopeFilter(filter: ((req: IncomingMessage) => boolean) | undefined): void {
  scopeFilter = filter;
}

/**
 * Wraps a server's `emit` so that every `'request'` event runs in its own
 * request scope and passes the `timing:auth` hook; a request that hook
 * debugs also runs the rewrite, header_filter, body_filter and log phases.
 * Other events pass straight through.
 */
export function wrapServerEmit(original: Emit): Emit {
  return function emit(this: Server, event: string | symbol): boolean {
    if (event !== 'request') {
      if (event === 'listening' || event === 'close') trackListening(this, event);
      // eslint-disable-next-line prefer-rest-params
      return apply(original, this, arguments) as boolean;
    }
    // eslint-disable-next-line prefer-rest-params
    return handleRequest(this, original, arguments);
  } as Emit;
}

function handleRequest(server: Server, original: Emit, args: IArguments): boolean {
  const req = args[1] as IncomingMessage;
  const res = args[2] as ServerResponse;
  if (scopeFilter !== undefined && !scopeFilter(req)) return apply(original, server, args) as boolean;
  const { context: ctx, scope } = contextWithNewScope(endWithResponse, res);
  return runInContext(ctx, () => {
    runHook(AUTH[0], AUTH[1], req, res);
    const debug = debugRequestOfScope(scope);
    if (debug === undefined) return apply(original, server, args) as boolean;
    return context.with(debug.contextFor(ctx), () => {
      traceResponse(debug, res, scope);
      runHook('timing', 'before:rewrite');
      runHook('timing', 'after:rewrite');
      return apply(original, server, args) as boolean;
    });
  });
}

/**
 * A request scope's `onFirstHold`: the scope ends when its response is
 * over, finished or closed (aborted) whichever comes first, so that no
 * continuation of the request (a timer, a pooled keep-alive socket) keeps
 * its groups enabled. Armed only for scopes that come to hold a group, so
 * the other requests pay no listener. A debugged request's scope is ended
 * by its log phase instead (see traceResponse).
 */
function endWithResponse(scope: RequestScope): void {
  const res = scope.owner as ServerResponse;
  if (res.writableFinished || res.destroyed) {
    if (debugRequestOfScope(scope) === undefined) endScope(scope);
    return;
  }
  const end = (): void => {
    if (debugRequestOfScope(scope) === undefined) endScope(scope);
  };
  res.once('finish', end);
  res.once('close', end);
}

/**
 * Runs the response phases of a debugged request: header_filter when the
 * headers are written (its output header goes with them), body_filter
 * around each write and end, and log once the response is closed, after
 * which the request scope ends.
 */
function traceResponse(debug: DebugRequest, res: ServerResponse, scope: RequestScope): void {
  const requestContext = context.active();
  let headerDone = false;
  const headerFilter = (): void => {
    if (headerDone || res.headersSent) return;
    headerDone = true;
    runHook('timing', 'before:header_filter');
    runHook('timing', 'after:header_filter');
    writeHeaderOutput(debug);
  };
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  const outputHeader = debug.output.headerName.toLowerCase();
  res.writeHead = function (this: ServerResponse) {
    context.with(requestContext, headerFilter);
    // The output header is ours: one among the headers given here (an upstream's, forwarded) must not replace it.
    // eslint-disable-next-line prefer-rest-params
    return apply(writeHead, this, writeHeadArgsWithout(arguments, outputHeader)) as ServerResponse;
  };
  res.write = bodyFilter(write, requestContext, headerFilter);
  res.end = bodyFilter(end, requestContext, headerFilter);
  res.once('close', () => {
    // A throw here would escape from an event listener and end the process
    // (a span processor that throws when the root span ends, say): report it.
    try {
      context.with(requestContext, logPhase, undefined, debug);
    } catch (error) {
      reportHandlerFailure('timing', 'log', error);
    } finally {
      endScope(scope);
    }
  });
}

/** The response is over: what the application left open is dangling, and the log phase is the request's last. */
function logPhase(debug: DebugRequest): void {
  debug.closeDangling();
  runHook('timing', 'before:log');
  runHook('timing', 'after:log');
  writeLogOutput(debug);
  debug.finish();
}

function bodyFilter<F extends (...args: never[]) => unknown>(
  original: F,
  requestContext: ReturnType<typeof context.active>,
  headerFilter: () => void,
): F {
  const before = (): void => {
    headerFilter();
    runHook('timing', 'before:body_filter');
  };
  const after = (): void => {
    runHook('timing', 'after:body_filter');
  };
  return function (this: ServerResponse): unknown {
    context.with(requestContext, before);
    try {
      // eslint-disable-next-line prefer-rest-params
      return apply(original, this, arguments) as unknown;
    } finally {
      context.with(requestContext, after);
    }
  } as unknown as F;
}
