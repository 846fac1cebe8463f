import type { IncomingMessage, ServerResponse } from 'node:http';
import { isGroupEnabled } from '../core/groups';
import { instrumentStack, isDispatching, withDispatching } from './express-layers';
import { startTiming } from './express-request';
import { TIMING_GROUP } from '../names/hooks';

/** What {@link instrumentExpress} needs of an Express 5 application (what `express()` returns). */
export interface ExpressAppLike {
  /** The application's router (Express 5 creates it with the app). */
  readonly router: {
    /** The router's layers, in the order they were added. */
    readonly stack: readonly object[];
  };
}

type Handle = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => unknown;
interface ExpressApp {
  handle: Handle;
  readonly router: { readonly stack: readonly unknown[] };
  readonly mountpath?: unknown;
  [INSTRUMENTED]?: true;
}

const INSTRUMENTED = Symbol('dynamic-hooks express');

/**
 * Adds Kong's access phase to an Express 5 application's debugged
 * requests (those sent with `X-Request-Debug: *`; see
 * `TimingInstrumentation`), through the timing group's hooks:
 *
 * - `access`: from the moment the app receives the request until the
 *   matched route's handler starts (or the response starts, or an error
 *   is handed to `next`);
 * - `plugins` > middleware name > `name#index`: each middleware
 *   (`app.use`, and a route's callbacks before its last one) from its
 *   start until it calls `next`, throws, its promise rejects, or the
 *   response starts; indexes are the layer's position in its router,
 *   dotted below nested routers and routes (`auth#3.0`);
 * - `router`: route matching, from the first route layer the router tries
 *   until the matched one runs.
 *
 * In the usual order (middleware first, then routes) that gives
 * `access` > {`plugins`, `router`}; a middleware placed after routes that
 * the router skipped re-enters `plugins`, whose times add up in the tree.
 * A mounted sub-app counts as one middleware (`mounted_app`) unless it is
 * instrumented too, in which case its layers nest under that one (ids
 * prefixed with its mount path, `auth#/admin:0`).
 *
 * The request's other phases (rewrite, header_filter, body_filter, log)
 * come from the node:http server integration; the adapter ends its own
 * contexts when the response starts, so those phases never nest inside
 * access. A request aborted while a middleware still runs has that
 * middleware's contexts closed as `dangling` by the log output.
 *
 * How: `app.handle` is replaced by a wrapper that, for a request whose
 * `timing` group is enabled, starts access and wraps the router's layers
 * not wrapped yet (each layer's `handleRequest`, `handleError` and a route
 * layer's `match` become own properties). Wrapping at debugged requests
 * rather than at `app.use` time covers layers added at any time, before
 * or after this call, including nested routers' layers (wrapped when a
 * debugged request first enters them) and instrumented sub-apps. The
 * prototype of the router's `Layer` is left alone, so other routers in the
 * process are unaffected. While nobody debugs, a request costs one
 * `isGroupEnabled('timing')` check and, on wrapped layers, one property
 * read: nothing is allocated.
 *
 * Idempotent; returns `app`.
 *
 * @throws TypeError if `app` is not an Express 5 application.
 */
export function instrumentExpress<App extends ExpressAppLike>(app: App): App {
  const target = app as unknown as ExpressApp;
  if (typeof target.handle !== 'function' || !Array.isArray(target.router?.stack)) {
    throw new TypeError('instrumentExpress(app): app must be an Express 5 application (express())');
  }
  if (target[INSTRUMENTED] === true) return app;
  const original = target.handle;
  target.handle = function handle(this: ExpressApp, req, res, next) {
    if (!isGroupEnabled(TIMING_GROUP)) {
      // A request nobody debugs, perhaps dispatched from inside a debugged one's router.
      if (!isDispatching()) return original.call(this, req, res, next);
      return withDispatching(undefined, () => original.call(this, req, res, next));
    }
    const timing = startTiming(req, res);
    instrumentStack(this.router.stack, mountPrefix(this.mountpath));
    return withDispatching(timing, () => original.call(this, req, res, next));
  };
  target[INSTRUMENTED] = true;
  return app;
}

/** A mounted sub-app's layer ids start with its mount path. */
function mountPrefix(mountpath: unknown): string {
  return typeof mountpath === 'string' && mountpath !== '/' ? `${mountpath}:` : '';
}
