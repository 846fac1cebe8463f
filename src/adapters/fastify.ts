import type { ServerResponse } from 'node:http';
import { isGroupEnabled } from '../core/groups';
import { activeDebugRequest } from '../timing/debug-request';
import { HookIds, timedHandler, timedPreHandler, type PreHandlerHook } from './fastify-hooks';
import { FastifyRequestTiming, TIMING_STATE, timingOf, type FastifyRequestLike } from './fastify-request';
import { TIMING_GROUP } from '../names/hooks';

type Done = (error?: Error | null) => void;

/** The parts of a Fastify 5 instance the plugin uses (a `FastifyInstance` is one). */
export interface FastifyInstanceLike {
  /** Adds a lifecycle hook; the plugin adds its own and wraps later `preHandler` hooks. */
  addHook(name: string, hook: (...args: never[]) => unknown): unknown;
  /** Declares a request property; the plugin keeps a request's timing state in one. */
  decorateRequest(name: symbol, value: null): unknown;
  /** Whether a request property is declared; tells the plugin it is already registered. */
  hasRequestDecorator(name: symbol): boolean;
}

/** A Fastify plugin (callback style), as `app.register()` takes it. */
export type FastifyTimingPlugin = (
  instance: FastifyInstanceLike,
  options: Readonly<Record<string, unknown>>,
  done: (error?: Error) => void,
) => void;

interface Instance {
  addHook: (this: Instance, name: string, hook: unknown) => unknown;
  decorateRequest(name: symbol, value: null): unknown;
  hasRequestDecorator(name: symbol): boolean;
}
interface ReplyLike {
  readonly raw: ServerResponse;
}
interface RouteOptionsLike {
  preHandler?: unknown;
  handler?: unknown;
}

/**
 * A Fastify 5 plugin that maps Fastify's request lifecycle onto Kong's
 * phases for debugged requests (those sent with `X-Request-Debug: *`; see
 * `TimingInstrumentation`), through the timing group's hooks. Register it
 * first, before the routes and plugins it should see:
 * `await app.register(fastifyTiming)`. It applies to the whole app (it
 * skips Fastify's encapsulation, as `fastify-plugin` would).
 *
 * - `rewrite`: the onRequest hooks;
 * - `access` > `router`: from preParsing through body parsing,
 *   preValidation and validation (Fastify has matched the route before
 *   onRequest, so this is the route's own request processing);
 * - `access` > `plugins` > hook name > `name#n`: each preHandler hook,
 *   until it calls `done`, its promise settles or it throws; access ends
 *   when the route handler starts;
 * - `header_filter`: the onSend hooks, which see the serialized payload
 *   before the headers are written.
 *
 * An error (onError) ends what the adapter has open, so the error handler
 * runs after access; whatever is still open when the response starts
 * being written (a hook that replied itself, a 404) is left then.
 *
 * The node:http server integration runs every debugged request's own
 * rewrite (at arrival), header_filter (when the headers are written),
 * body_filter (each write) and log (once the response closed). The
 * adapter's rewrite and header_filter are siblings of those, entered only
 * after the integration's have been left, so same-named contexts add up
 * in the tree (Kong's semantics) and no phase nests inside itself. The
 * adapter runs no `log` of its own: the timing module writes the log
 * output when a `log` context is left, so a second log phase would log
 * the tree twice; Fastify's onResponse hooks, run when the response has
 * finished, fall between body_filter and the integration's log. A request
 * aborted mid-way has the adapter's open contexts closed as `dangling` by
 * the log output (so onRequestAbort and onTimeout hooks, which would make
 * Fastify allocate a listener for every request, are not used).
 *
 * How: hooks only (onRequest, preParsing, preHandler, onSend, onError
 * and onRoute, which wraps each route's handler and route-level preHandler
 * hooks), plus a wrapper around the instance's `addHook` that wraps
 * preHandler hooks added after this plugin, as instance-level hooks
 * cannot be told apart otherwise. While nobody debugs, a request costs an
 * `isGroupEnabled('timing')` check in onRequest and a property read in
 * each other hook; nothing is allocated by the adapter.
 */
export const fastifyTiming: FastifyTimingPlugin = function fastifyTiming(instance, _options, done) {
  const app = instance as unknown as Instance;
  if (app.hasRequestDecorator(TIMING_STATE)) {
    done(); // already registered on this instance or an ancestor
    return;
  }
  app.decorateRequest(TIMING_STATE, null);
  const addHook = app.addHook;
  const ids = new HookIds();
  addHook.call(app, 'onRequest', onRequest);
  addHook.call(app, 'preParsing', preParsing);
  addHook.call(app, 'preHandler', preHandler);
  addHook.call(app, 'onSend', onSend);
  addHook.call(app, 'onError', onError);
  addHook.call(app, 'onRoute', (route: RouteOptionsLike) => {
    if (route.preHandler !== undefined) {
      route.preHandler = Array.isArray(route.preHandler)
        ? route.preHandler.map((hook: unknown) => timedPreHandler(hook, ids))
        : timedPreHandler(route.preHandler, ids);
    }
    route.handler = timedHandler(route.handler);
  });
  app.addHook = function (this: Instance, name: string, hook: unknown) {
    return addHook.call(this, name, name === 'preHandler' ? timedPreHandler(hook as PreHandlerHook, ids) : hook);
  };
  done();
};

Object.defineProperty(fastifyTiming, Symbol.for('skip-override'), { value: true });
Object.defineProperty(fastifyTiming, Symbol.for('fastify.display-name'), { value: 'dynamic-hooks-timing' });

function onRequest(request: FastifyRequestLike, reply: ReplyLike, done: Done): void {
  if (isGroupEnabled(TIMING_GROUP)) request[TIMING_STATE] = new FastifyRequestTiming(reply.raw);
  done();
}

function preParsing(request: FastifyRequestLike, _reply: unknown, _payload: unknown, done: Done): void {
  const timing = timingOf(request);
  if (timing !== undefined) {
    timing.startAccess();
    const route = request.routeOptions?.url;
    if (typeof route === 'string') activeDebugRequest()?.setRoute(route);
  }
  done();
}

function preHandler(request: FastifyRequestLike, _reply: unknown, done: Done): void {
  timingOf(request)?.startPlugins();
  done();
}

function onSend(request: FastifyRequestLike, _reply: unknown, _payload: unknown, done: Done): void {
  timingOf(request)?.startHeaderFilter();
  done();
}

function onError(request: FastifyRequestLike, _reply: unknown, _error: unknown, done: Done): void {
  timingOf(request)?.onError();
  done();
}
