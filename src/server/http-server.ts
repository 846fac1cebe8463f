import { context, type Context } from '@opentelemetry/api';
import * as diagnostics from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { runInContext } from '../core/context-manager';
import { runHook } from '../core/named-hooks';
import { reportHandlerFailure } from '../core/report-failure';
import {
  contextWithNewScope,
  contextWithScope,
  endScope,
  requestScopeOf,
  type RequestScope,
} from '../core/request-scope';
import { trackListening } from './listening-servers';
import {
  debugRequestOfScope,
  dispatchingDebugRequest,
  setDispatchingDebugRequest,
  type DebugRequest,
} from '../timing/debug-request';
import { writeHeaderOutput, writeLogOutput } from '../timing/timing-hooks';
import { FLAG_RULES_GROUP, FLAG_RULES_HOOK } from '../flags/names';
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

/**
 * The request Node is about to dispatch, prepared when its HTTP parser
 * published `http.server.request.start` (before `emit('request')`, so
 * before any wrapper of `emit` or listener ran): its scope, `undefined`
 * if the scope filter left it out. Valid only synchronously, until our
 * `emit` wrapper has dispatched it or the next request is published.
 */
let preparedRequest: IncomingMessage | undefined;
let preparedScope: RequestScope | undefined;
/** The context the scope was opened in, and the scope's: reused if no wrapper changed the context since. */
let preparedBase: Context | undefined;
let preparedContext: Context | undefined;

const REQUEST_START = 'http.server.request.start';
let observing = false;

/**
 * Subscribes to (or, with `false`, unsubscribes from) the start of every
 * HTTP request, where the server integration decides whether the request
 * is debugged before any instrumentation starts a span for it.
 */
export function observeRequestStart(on: boolean): void {
  // Once: a second subscription would prepare every request twice.
  if (on && !observing) diagnostics.subscribe(REQUEST_START, onRequestStart);
  else if (!on && observing) diagnostics.unsubscribe(REQUEST_START, onRequestStart);
  observing = on;
  clearPrepared();
}

function onRequestStart(message: unknown): void {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  // A throw would escape into Node's HTTP parser: report it, and the emit wrapper prepares the request.
  try {
    preparedScope = prepareRequest(request, response);
    preparedRequest = request;
  } catch (error) {
    clearPrepared();
    reportHandlerFailure(AUTH[0], AUTH[1], error);
  }
}

/**
 * Opens the request's scope and runs the `timing:auth` hook in it; marks
 * a debugged request as the one being dispatched, so that the sampler
 * records the SERVER span an instrumentation starts for it.
 */
function prepareRequest(req: IncomingMessage, res: ServerResponse): RequestScope | undefined {
  clearPrepared();
  if (scopeFilter !== undefined && !scopeFilter(req)) return undefined;
  preparedBase = context.active();
  const { context: ctx, scope } = contextWithNewScope(endWithResponse, res);
  preparedContext = ctx;
  runInContext(ctx, () => {
    runHook(AUTH[0], AUTH[1], req, res);
    // Flag rules (src/flags), after auth: a request the client debugs keeps its header output.
    runHook(FLAG_RULES_GROUP, FLAG_RULES_HOOK, req, res);
  });
  const debug = debugRequestOfScope(scope);
  if (debug !== undefined) {
    setDispatchingDebugRequest(debug);
    // Not dispatched as 'request' in this turn (a 'checkContinue' listener took it): no later span is its.
    process.nextTick(endDispatch, debug);
  }
  return scope;
}

function endDispatch(debug: DebugRequest): void {
  if (dispatchingDebugRequest() === debug) setDispatchingDebugRequest(undefined);
}

function handleRequest(server: Server, original: Emit, args: IArguments): boolean {
  const req = args[1] as IncomingMessage;
  // A request emitted without Node's parser (or with no subscriber) is prepared here.
  const scope = preparedRequest === req ? preparedScope : prepareRequest(req, args[2] as ServerResponse);
  try {
    if (scope === undefined) return apply(original, server, args) as boolean;
    const active = context.active();
    const ctx =
      active === preparedBase && preparedContext !== undefined ? preparedContext : contextWithScope(active, scope);
    if (original === pristineEmit) {
      return runInContext(ctx, () => dispatch(args, scope, () => apply(original, server, args) as boolean));
    }
    return runInContext(ctx, () => dispatchBeneath(server, original, args, scope));
  } finally {
    // An instrumentation wrapped inside ours has started its span by now.
    clearPrepared();
  }
}

function clearPrepared(): void {
  preparedRequest = undefined;
  preparedScope = undefined;
  preparedBase = undefined;
  preparedContext = undefined;
  setDispatchingDebugRequest(undefined);
}

/** `emit` as servers inherit it: with it beneath our wrapper, no other wrapper runs between ours and the listeners. */
const pristineEmit = EventEmitter.prototype.emit;

type Listener = (...args: unknown[]) => unknown;

/**
 * Dispatches through another instrumentation's `emit` wrapper that was
 * installed before ours (so runs inside ours). Such a wrapper may run the
 * listeners in a context of its own (OpenTelemetry's HttpInstrumentation
 * starts from the root context, with its SERVER span): the request's
 * listeners are entered through a one-shot trampoline that puts the
 * request scope back into whatever context they are called in, and starts
 * a debugged request's root span there, under that wrapper's span. The
 * trampoline restores the server's listeners before calling them, so they
 * see (and may change) their real list.
 */
function dispatchBeneath(server: Server, original: Emit, args: IArguments, scope: RequestScope): boolean {
  const events = (server as unknown as { _events?: Record<string | symbol, unknown> })._events;
  const listeners = events?.request;
  if (events === undefined || !isListeners(listeners)) {
    return dispatch(args, scope, () => apply(original, server, args) as boolean);
  }
  const trampoline = function (this: Server): boolean {
    events.request = listeners;
    // eslint-disable-next-line prefer-rest-params
    const listenerArgs = arguments;
    const active = context.active();
    const ctx = requestScopeOf(active) === scope ? active : contextWithScope(active, scope);
    return runInContext(ctx, () => dispatch(args, scope, () => callListeners(this, listeners, listenerArgs)));
  };
  events.request = trampoline;
  try {
    return apply(original, server, args) as boolean;
  } finally {
    if (events.request === trampoline) events.request = listeners;
  }
}

function isListeners(value: unknown): value is Listener | Listener[] {
  return typeof value === 'function' || (Array.isArray(value) && value.every((item) => typeof item === 'function'));
}

/** Calls `'request'` listeners as `EventEmitter#emit` does. */
function callListeners(server: Server, listeners: Listener | Listener[], args: IArguments): boolean {
  if (typeof listeners === 'function') {
    apply(listeners, server, args);
    return true;
  }
  for (const listener of [...listeners]) apply(listener, server, args);
  return true;
}

/** Runs the request's listeners (`call`), for a debugged request inside its root span and phases. */
function dispatch(args: IArguments, scope: RequestScope, call: () => boolean): boolean {
  const debug = debugRequestOfScope(scope);
  if (debug === undefined) return call();
  const ctx = context.active();
  debug.start(ctx);
  return context.with(debug.contextFor(ctx), () => {
    traceResponse(debug, args[2] as ServerResponse, scope);
    runHook('timing', 'before:rewrite');
    runHook('timing', 'after:rewrite');
    return call();
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
      context.with(requestContext, logPhase, undefined, debug, res);
    } catch (error) {
      reportHandlerFailure('timing', 'log', error);
    } finally {
      endScope(scope);
    }
  });
}

/** The response is over: what the application left open is dangling, and the log phase is the request's last. */
function logPhase(debug: DebugRequest, res: ServerResponse): void {
  debug.closeDangling();
  debug.setResponseStatus(res.statusCode);
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
