import { type Context } from '@opentelemetry/api';
import * as diagnostics from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { activeContext, runInContext, withContext } from '../core/context-manager';
import { NamedHookCaller, runHook } from '../core/named-hooks';
import { reportHandlerFailure } from '../core/report-failure';
import {
  beginPreparing,
  contextWithScope,
  endPreparing,
  endScope,
  newRequestScope,
  requestScopeOf,
  rideOnContext,
  type RequestScope,
} from '../core/request-scope';
import { makesRequestContext, onlyRequestContextsBetween } from '../patching/otel-internals';
import {
  AFTER,
  AUTH_HOOK,
  BEFORE,
  DISPATCH_HOOK,
  FLAG_RULES_GROUP,
  FLAG_RULES_HOOK,
  TIMING_AUTH_GROUP,
  TIMING_GROUP,
} from '../names/hooks';
import { callListeners, isListeners } from './listener-calls';
import { trackListening } from './listening-servers';
import { traceResponse } from './response-phases';

const apply = Reflect.apply;

/** The hooks every request runs, held rather than looked up by name per request. */
const authHook = new NamedHookCaller(TIMING_AUTH_GROUP, AUTH_HOOK);
const flagRulesHook = new NamedHookCaller(FLAG_RULES_GROUP, FLAG_RULES_HOOK);
const dispatchHook = new NamedHookCaller(TIMING_GROUP, DISPATCH_HOOK);
type Emit = Server['emit'];

/** Where a scope whose response phases run is marked (its log phase ends it). */
const TRACED = Symbol('dynamic-hooks traced response');

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
 * request scope and passes the `timing:auth` hook; a request whose
 * `dispatch` hook gives its listeners a context (the timing module's, for
 * a debugged request) also runs the rewrite, header_filter, body_filter
 * and log phase hooks. This file only runs hooks, by the names in
 * `src/names/hooks.ts`: what they do is the timing module's. Other events
 * pass straight through.
 */
export function wrapServerEmit(original: Emit): Emit {
  const beneath = wrappersBeneath(original);
  const emit = function emit(this: Server, event: string | symbol): boolean {
    if (event !== 'request') {
      if (event === 'listening' || event === 'close') trackListening(this, event);
      // eslint-disable-next-line prefer-rest-params
      return apply(original, this, arguments) as boolean;
    }
    // eslint-disable-next-line prefer-rest-params
    return handleRequest(this, emit, original, beneath, arguments);
  } as Emit;
  return emit;
}

/**
 * What runs between our `emit` wrapper and the listeners: nothing (the
 * pristine `emit`), only wrappers that run the request in a context made
 * for it (OpenTelemetry HttpInstrumentation's), or anything else.
 */
type Beneath = 'nothing' | 'request contexts' | 'other';

function wrappersBeneath(original: Emit): Beneath {
  if (original === pristineEmit) return 'nothing';
  return onlyRequestContextsBetween(original, pristineEmit) ? 'request contexts' : 'other';
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
/**
 * The context active when the request was prepared (its connection's):
 * never one to ride on. Read only when the server's outermost `emit`
 * makes a context per request, and only while that wrapper is still
 * being checked (see {@link checksLeft}); {@link TRUSTED} once it has
 * been; otherwise undefined, and our wrapper does not ride.
 */
let preparedBase: Context | typeof TRUSTED | undefined;

/**
 * In {@link preparedBase}: the request came from Node's parser, and the
 * server's outermost `emit` wrapper, checked on {@link CHECKED_REQUESTS}
 * requests, made a context of its own for every one.
 */
const TRUSTED = Symbol('dynamic-hooks trusted request contexts');

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';
let observing = false;

/**
 * Subscribes to (or, with `false`, unsubscribes from) the start of every
 * HTTP request, where the server integration decides whether the request
 * is debugged before any instrumentation starts a span for it.
 *
 * Always, even while our `emit` wrapper is the outermost and would decide
 * first anyway: preparing the request inside the wrapper instead saved
 * ~180 instructions per request, but put the process in a mode that
 * compiled code late and ran it unoptimised meanwhile, ~10,000
 * instructions per request over 30,000 requests on Node 20 and 22 (bench
 * `instructions`, setup (b); docs/benchmarks.md).
 */
export function observeRequestStart(on: boolean): void {
  // Once: a second subscription would prepare every request twice.
  if (on && !observing) {
    diagnostics.subscribe(REQUEST_START, onRequestStart);
    diagnostics.subscribe(RESPONSE_FINISH, onResponseFinish);
  } else if (!on && observing) {
    diagnostics.unsubscribe(REQUEST_START, onRequestStart);
    diagnostics.unsubscribe(RESPONSE_FINISH, onResponseFinish);
  }
  observing = on;
  clearPrepared();
}

function onRequestStart(message: unknown): void {
  const { request, response, server } = message as {
    request: IncomingMessage;
    response: ServerResponse;
    server?: Server;
  };
  // A throw would escape into Node's HTTP parser: report it, and the emit wrapper prepares the request.
  try {
    preparedScope = prepareRequest(request, response, server, true);
    preparedRequest = request;
  } catch (error) {
    clearPrepared();
    reportHandlerFailure(TIMING_AUTH_GROUP, AUTH_HOOK, error);
  }
}

/**
 * The scope of the debugged request whose `'request'` event is being
 * dispatched right now, decided (by the `timing:auth` hook) before any
 * listener or instrumentation of that event ran. Valid only
 * synchronously, during the dispatch: the sampler reads it to record the
 * server span that an HTTP server instrumentation starts for the request.
 */
let dispatching: RequestScope | undefined;

/** The scope of the debugged request being dispatched now, if any (the sampler asks). */
export function dispatchingDebugScope(): RequestScope | undefined {
  return dispatching;
}

/**
 * Opens the request's scope and runs the `timing:auth` hook in it; marks
 * a request that hook debugs as the one being dispatched, so that the
 * sampler records the SERVER span an instrumentation starts for it.
 */
function prepareRequest(
  req: IncomingMessage,
  res: ServerResponse,
  server: Server | undefined,
  fromParser: boolean,
): RequestScope | undefined {
  clearPrepared();
  if (scopeFilter !== undefined && !scopeFilter(req)) return undefined;
  // Read only where our wrapper may ride (see madeForThisRequest): a context read is the dearest step here.
  // Prepared in our wrapper, it is already in whatever context the wrappers outside made: left unread, no ride.
  if (fromParser && (server === undefined || outermostMakesRequestContexts(server))) {
    preparedBase = server !== undefined && checksLeft === 0 ? TRUSTED : activeContext();
  }
  const scope = newRequestScope(endWithResponse, res);
  forgetResponseAtFinish(scope, res);
  // No context yet: the hooks enter the scope if they act on the request (inPreparedScope).
  const outer = beginPreparing(scope);
  let debugged: boolean;
  try {
    const byClient = authHook.run(req, res) === true;
    // Flag rules (src/flags), after auth: a request the client debugs keeps its header output.
    debugged = flagRulesHook.run(req, res) === true || byClient;
  } finally {
    endPreparing(outer);
  }
  if (debugged) {
    dispatching = scope;
    // Not dispatched as 'request' in this turn (a 'checkContinue' listener took it): no later span is its.
    process.nextTick(endDispatch, scope);
  }
  return scope;
}

function endDispatch(scope: RequestScope): void {
  if (dispatching === scope) dispatching = undefined;
}

/**
 * Runs a `'request'` event in its request scope. The scope rides on the
 * context an instrumentation made for this request, where there is one
 * (see {@link rideOnContext}): OpenTelemetry HttpInstrumentation's
 * wrapper, outside ours (the active context here) or beneath it (the one
 * the listeners are called in). Otherwise it takes a child context of its
 * own, one `context.with`.
 */
function handleRequest(server: Server, self: Emit, original: Emit, beneath: Beneath, args: IArguments): boolean {
  const req = args[1] as IncomingMessage;
  // A request emitted without Node's parser (or with no subscriber) is prepared here.
  const scope = preparedRequest === req ? preparedScope : prepareRequest(req, args[2] as ServerResponse, server, false);
  try {
    if (scope === undefined) return apply(original, server, args) as boolean;
    const active = activeContext();
    if (beneath === 'nothing') {
      if (madeForThisRequest(server, self, active) && rideOnContext(active, scope)) {
        // No closure either, unless some request is debugged.
        if (!debugMayDispatch()) return apply(original, server, args) as boolean;
        return dispatch(args, scope, () => apply(original, server, args) as boolean);
      }
      const ctx = contextWithScope(active, scope);
      // One closure, unless some request is debugged.
      if (!debugMayDispatch()) return runInContext(ctx, () => apply(original, server, args) as boolean);
      return runInContext(ctx, () => dispatch(args, scope, () => apply(original, server, args) as boolean));
    }
    if (beneath === 'request contexts') return dispatchBeneath(server, original, args, scope, active);
    return runInContext(contextWithScope(active, scope), () =>
      dispatchBeneath(server, original, args, scope, undefined),
    );
  } finally {
    // An instrumentation wrapped inside ours has started its span by now.
    clearPrepared();
  }
}

/** On a response whose scope still references it: that scope. */
const SCOPE_OF_RESPONSE = Symbol('dynamic-hooks request scope');

/**
 * Drops the scope's reference to its response once the response has
 * finished (a later first hold then ends the scope at once, as it would
 * have). Async resources of the request (a keep-alive socket's timer) keep
 * its context, so its scope, until the connection's next request: through
 * the scope they kept the whole request's objects alive past the young
 * generation, which cost ~5 us of GC per request on Node 22. Node
 * publishes the finish of every response its parser dispatched
 * (`http.server.response.finish`): cheaper than a `'finish'` listener per
 * response. A response Node did not dispatch keeps its reference until
 * the scope is collected, as before.
 *
 * Marked when the scope is made, before Node's code or any
 * instrumentation has used the response past its constructor: every
 * function that handles responses then sees one shape. Marked at the end
 * of the dispatch instead, as it was, the responses that OpenTelemetry
 * HttpInstrumentation's code handles came in two shapes, which cost ~3,000
 * instructions per request (bench `instructions`).
 */
function forgetResponseAtFinish(scope: RequestScope, res: unknown): void {
  if (typeof res === 'object' && res !== null) (res as Record<symbol, unknown>)[SCOPE_OF_RESPONSE] = scope;
}

function onResponseFinish(message: unknown): void {
  const res = (message as { response?: Record<symbol, unknown> }).response;
  const scope = res?.[SCOPE_OF_RESPONSE] as RequestScope | undefined;
  if (scope === undefined || res === undefined) return;
  res[SCOPE_OF_RESPONSE] = undefined;
  scope.owner = undefined;
}

function clearPrepared(): void {
  preparedRequest = undefined;
  preparedScope = undefined;
  preparedBase = undefined;
  dispatching = undefined;
}

/** The `emit` last seen outside ours, and whether only per-request context makers sit between it and ours. */
let outerEmit: unknown;
let outerOurs: Emit | undefined;
let outerMakesRequestContexts = false;

/**
 * Whether `active`, in our wrapper, is a context made for this request
 * alone: the wrappers outside ours (from the server's `emit` down) are all
 * OpenTelemetry HttpInstrumentation's, and `active` is neither the context
 * the request was prepared in (its connection's) nor the root context.
 */
function madeForThisRequest(server: Server, self: Emit, active: Context): boolean {
  const outer = server.emit;
  if (outer !== outerEmit || self !== outerOurs) {
    outerEmit = outer;
    outerOurs = self;
    outerMakesRequestContexts = onlyRequestContextsBetween(outer, self);
  }
  if (!outerMakesRequestContexts || preparedBase === undefined) return false;
  if (preparedBase === TRUSTED) return true;
  if (active === preparedBase) {
    // It ran this request in the connection's context: never trust it.
    checksLeft = Infinity;
    return false;
  }
  if (checksLeft > 0 && outer === outermostEmit) checksLeft--;
  return true;
}

/** The server's `emit` last seen when preparing a request, and whether it makes a context per request. */
let outermostEmit: unknown;
let outermostMakes = false;

/**
 * How many requests from Node's parser the outermost `emit` wrapper must
 * run in a context other than their connection's before that is taken on
 * trust: OpenTelemetry HttpInstrumentation's does for every request (see
 * `makesRequestContext`), and reading the connection's context cost ~700
 * instructions per request on Node 20 (bench `instructions`, (f)).
 */
const CHECKED_REQUESTS = 64;
/** Requests left to check for {@link outermostEmit}; `Infinity` once it failed one. */
let checksLeft = CHECKED_REQUESTS;

/**
 * Whether the server's outermost `emit` wrapper makes a context per
 * request: only then can {@link madeForThisRequest} answer true, and the
 * context the request was prepared in is worth reading.
 */
function outermostMakesRequestContexts(server: Server): boolean {
  const outer = server.emit;
  if (outer !== outermostEmit) {
    outermostEmit = outer;
    outermostMakes = makesRequestContext(outer);
    checksLeft = CHECKED_REQUESTS;
  }
  return outermostMakes;
}

/** `emit` as servers inherit it: with it beneath our wrapper, no other wrapper runs between ours and the listeners. */
const pristineEmit = EventEmitter.prototype.emit;

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
function dispatchBeneath(
  server: Server,
  original: Emit,
  args: IArguments,
  scope: RequestScope,
  outside: Context | undefined,
): boolean {
  const events = (server as unknown as { _events?: Record<string | symbol, unknown> })._events;
  const listeners = events?.request;
  if (events === undefined || !isListeners(listeners)) {
    if (outside === undefined) return dispatch(args, scope, () => apply(original, server, args) as boolean);
    return runInContext(contextWithScope(outside, scope), () =>
      dispatch(args, scope, () => apply(original, server, args) as boolean),
    );
  }
  // What it returns, `emit` hands to its rejection capture (see callListeners).
  const trampoline = function (this: Server): unknown {
    events.request = listeners;
    // eslint-disable-next-line prefer-rest-params
    const listenerArgs = arguments;
    const call = (): unknown => dispatch(args, scope, () => callListeners(this, 'request', listeners, listenerArgs));
    const active = activeContext();
    if (requestScopeOf(active) === scope) return call();
    // `outside` given: only per-request context makers run beneath us, so a context other than ours is this request's.
    if (outside !== undefined && active !== outside && active !== preparedBase && rideOnContext(active, scope)) {
      return call();
    }
    return runInContext(contextWithScope(active, scope), call);
  };
  events.request = trampoline;
  try {
    return apply(original, server, args) as boolean;
  } finally {
    if (events.request === trampoline) events.request = listeners;
  }
}

/**
 * Runs the request's listeners (`call`). When the `dispatch` hook gives
 * them a context of their own (the timing module's, for a debugged
 * request), they run in it, after the rewrite phase, and the response
 * phases run around the response.
 */
function dispatch<T>(args: IArguments, scope: RequestScope, call: () => T): T {
  const inner = debugMayDispatch() ? dispatchHook.run(activeContext()) : undefined;
  if (!isContext(inner)) return call();
  return withContext(inner, () => {
    scope.data ??= new Map();
    scope.data.set(TRACED, true);
    traceResponse(args[2] as ServerResponse, scope);
    runHook(TIMING_GROUP, BEFORE.rewrite);
    runHook(TIMING_GROUP, AFTER.rewrite);
    return call();
  });
}

/**
 * Whether the `dispatch` hook could give a request a context: only while
 * some request is debugged (its group enabled somewhere). False lets
 * {@link dispatch} be skipped, and the active context go unread.
 */
function debugMayDispatch(): boolean {
  return dispatchHook.mayRun();
}

function isContext(value: unknown): value is Context {
  return typeof value === 'object' && value !== null && typeof (value as Context).getValue === 'function';
}

function isTraced(scope: RequestScope): boolean {
  return scope.data?.get(TRACED) === true;
}

/**
 * A request scope's `onFirstHold`: the scope ends when its response is
 * over, finished or closed (aborted) whichever comes first, so that no
 * continuation of the request (a timer, a pooled keep-alive socket) keeps
 * its groups enabled. Armed only for scopes that come to hold a group, so
 * the other requests pay no listener. A scope whose response phases run
 * is ended by its log phase instead (see traceResponse).
 */
function endWithResponse(scope: RequestScope): void {
  const res = scope.owner as ServerResponse | undefined;
  // No response any more: it finished (see forgetResponseAtFinish).
  if (res === undefined || res.writableFinished || res.destroyed) {
    if (!isTraced(scope)) endScope(scope);
    return;
  }
  const end = (): void => {
    if (!isTraced(scope)) endScope(scope);
  };
  res.once('finish', end);
  res.once('close', end);
}
