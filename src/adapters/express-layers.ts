import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingOf, type ExpressRequestTiming } from './express-request';
import { activeDebugRequest } from '../timing/debug-request';

type Next = (error?: unknown) => void;
type HandleRequest = (this: LayerLike, req: IncomingMessage, res: ServerResponse, next: Next) => unknown;
type HandleError = (this: LayerLike, error: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => unknown;
type Match = (this: LayerLike, path: string) => unknown;

const META = Symbol('dynamic-hooks express layer');

/** The parts of a `router` Route the adapter reads. */
interface RouteLike {
  readonly stack: LayerLike[];
  readonly methods: Readonly<Record<string, unknown>>;
  readonly path?: unknown;
}

/** The parts of a `router` Layer (Express 5) the adapter reads and wraps. */
interface LayerLike {
  readonly handle: ((...args: never[]) => unknown) & { readonly stack?: unknown; readonly handle?: unknown };
  readonly route?: RouteLike;
  readonly method?: string;
  match: Match;
  handleRequest: HandleRequest;
  handleError: HandleError;
  [META]?: LayerMeta;
}

/**
 * What a layer is to the timing tree: a middleware (a plugin), a nested
 * router (transparent: its own layers count), a route (matched by the
 * router: its dispatch ends route matching), or one of a route's
 * callbacks (a plugin, except the last one for the method: the handler).
 */
type Kind = 'middleware' | 'router' | 'route' | 'route-callback';

interface LayerMeta {
  readonly kind: Kind;
  readonly name: string;
  /** `name#position`, where position is the layer's index, dotted below nested routers and routes. */
  readonly id: string;
  readonly position: string;
  /** The route a route callback belongs to. */
  readonly route: RouteLike | undefined;
  readonly handleRequest: HandleRequest;
  readonly handleError: HandleError;
  readonly match: Match;
}

/** The debugged request whose router is looking for its next layer (route layers' `match` reads it). */
let dispatching: ExpressRequestTiming | undefined;

/** Runs `fn` with `timing` (or no request) as the one whose router is dispatching. */
export function withDispatching<T>(timing: ExpressRequestTiming | undefined, fn: () => T): T {
  const previous = dispatching;
  dispatching = timing;
  try {
    return fn();
  } finally {
    dispatching = previous;
  }
}

/** Whether a router is dispatching for a debugged request (cheap to ask). */
export function isDispatching(): boolean {
  return dispatching !== undefined;
}

/**
 * Wraps the layers of `stack` not wrapped yet: their `handleRequest` and
 * `handleError` (and a route layer's `match`) become own properties that
 * call the originals straight away for a request nobody debugs.
 */
export function instrumentStack(stack: readonly unknown[], prefix: string, route?: RouteLike): void {
  for (let i = 0; i < stack.length; i++) {
    const layer = stack[i] as LayerLike;
    if (layer[META] !== undefined || typeof layer.handleRequest !== 'function') continue;
    const name = layer.handle.name || 'anonymous';
    const position = `${prefix}${i}`;
    layer[META] = {
      kind: kindOf(layer, route),
      name,
      id: `${name}#${position}`,
      position,
      route,
      handleRequest: layer.handleRequest,
      handleError: layer.handleError,
      match: layer.match,
    };
    layer.handleRequest = handleRequest;
    layer.handleError = handleError;
    if (layer.route !== undefined) layer.match = match;
  }
}

function kindOf(layer: LayerLike, route: RouteLike | undefined): Kind {
  if (route !== undefined) return 'route-callback';
  if (layer.route !== undefined) return 'route';
  const { handle } = layer;
  return Array.isArray(handle.stack) && typeof handle.handle === 'function' ? 'router' : 'middleware';
}

function handleRequest(this: LayerLike, req: IncomingMessage, res: ServerResponse, next: Next): unknown {
  const meta = this[META] as LayerMeta;
  const timing = timingOf(req);
  // Layers that are not request handlers (error handlers) only pass the request on.
  if (timing === undefined || this.handle.length > 3) return meta.handleRequest.call(this, req, res, next);
  switch (meta.kind) {
    case 'router':
      instrumentStack(this.handle.stack as unknown[], `${meta.position}.`);
      return withDispatching(timing, () => meta.handleRequest.call(this, req, res, continueWith(timing, next)));
    case 'route': {
      timing.endRouting();
      const route = this.route as RouteLike;
      // As OpenTelemetry's Express instrumentation composes it: the mount path, then the route's.
      if (typeof route.path === 'string') {
        activeDebugRequest()?.setRoute(`${(req as { baseUrl?: string }).baseUrl ?? ''}${route.path}`);
      }
      instrumentStack(route.stack, `${meta.position}.`, route);
      return meta.handleRequest.call(this, req, res, continueWith(timing, next));
    }
    case 'route-callback':
      if (isHandler(meta.route as RouteLike, this, req)) {
        timing.endAccess();
        return meta.handleRequest.call(this, req, res, next);
      }
      return runPlugin(this, meta, timing, req, res, next);
    case 'middleware':
      return runPlugin(this, meta, timing, req, res, next);
  }
}

/** Runs a middleware as a plugin context, left when it calls `next` (or throws, or rejects: the router calls `next`). */
function runPlugin(
  layer: LayerLike,
  meta: LayerMeta,
  timing: ExpressRequestTiming,
  req: IncomingMessage,
  res: ServerResponse,
  next: Next,
): unknown {
  const entry = timing.startPlugin(meta.name, meta.id);
  if (entry === undefined) return meta.handleRequest.call(layer, req, res, next);
  return meta.handleRequest.call(layer, req, res, (error?: unknown) => {
    timing.endPlugin(entry, error);
    withDispatching(timing, () => {
      next(error);
    });
  });
}

/** A `next` that lets the router's search for the following layer time its route matching. */
function continueWith(timing: ExpressRequestTiming, next: Next): Next {
  return (error?: unknown) => {
    withDispatching(timing, () => {
      next(error);
    });
  };
}

function handleError(this: LayerLike, error: unknown, req: IncomingMessage, res: ServerResponse, next: Next): unknown {
  const meta = this[META] as LayerMeta;
  // An error handler runs after access, as the handler of the failed request.
  if (this.handle.length === 4) timingOf(req)?.endAccess();
  return meta.handleError.call(this, error, req, res, next);
}

function match(this: LayerLike, path: string): unknown {
  dispatching?.startRouting();
  return (this[META] as LayerMeta).match.call(this, path);
}

/** Whether `layer` is the last of `route`'s callbacks for the request's method (as the route dispatches it). */
function isHandler(route: RouteLike, layer: LayerLike, req: IncomingMessage): boolean {
  let method = req.method?.toLowerCase();
  if (method === 'head' && !route.methods.head) method = 'get';
  for (let i = route.stack.length - 1; i >= 0; i--) {
    const candidate = route.stack[i];
    if (!candidate.method || candidate.method === method) return candidate === layer;
  }
  return false;
}
