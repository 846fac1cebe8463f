import { timingOf, type FastifyRequestLike } from './fastify-request';

const WRAPPED = Symbol('dynamic-hooks fastify timed hook');

type Done = (...args: unknown[]) => void;

/** A Fastify preHandler hook: `(request, reply, done)`, callback or async. */
export type PreHandlerHook = (this: unknown, request: FastifyRequestLike, reply: unknown, done: Done) => unknown;

/** A Fastify route handler. */
export type RouteHandler = (this: unknown, request: FastifyRequestLike, reply: unknown) => unknown;

type Marked<F> = F & { [WRAPPED]?: true };

/**
 * Gives each hook function one registration of the plugin wraps its id,
 * `name#n` in the order first seen: one function used on several routes
 * (and on their automatic HEAD routes) keeps one id.
 */
export class HookIds {
  private readonly ids = new WeakMap<object, string>();
  private count = 0;

  idFor(hook: object, name: string): string {
    let id = this.ids.get(hook);
    if (id === undefined) {
      id = `${name}#${this.count++}`;
      this.ids.set(hook, id);
    }
    return id;
  }
}

/**
 * Whether Fastify would refuse `hook` as a preHandler hook (an async
 * function that also takes `done`). Such a hook is left unwrapped, so
 * that Fastify still refuses it with its own error.
 */
function refusedByFastify(hook: PreHandlerHook): boolean {
  return hook.constructor.name === 'AsyncFunction' && hook.length === 3;
}

/**
 * Wraps a preHandler hook so that, in a debugged request, it runs as one
 * `plugin` context (its function name, then `name#n`), left when it calls
 * `done`, when its promise settles, or when it throws. Elsewhere the hook
 * runs as it is, with its own `done`.
 */
export function timedPreHandler<H>(hook: H, ids: HookIds): H {
  if (typeof hook !== 'function') return hook;
  const original = hook as Marked<PreHandlerHook>;
  if (original[WRAPPED] === true || refusedByFastify(original)) return hook;
  const name = original.name || 'anonymous';
  const id = ids.idFor(original, name);
  const wrapper: Marked<PreHandlerHook> = function (this: unknown, request, reply, done) {
    const timing = timingOf(request);
    const entry = timing?.startPlugin(name, id);
    if (timing === undefined || entry === undefined) return original.call(this, request, reply, done);
    const end = (): void => {
      timing.endPlugin(entry);
    };
    let result: unknown;
    try {
      result = original.call(this, request, reply, (...args: unknown[]) => {
        end();
        done(...args);
      });
    } catch (error) {
      end();
      throw error;
    }
    if (isThenable(result)) result.then(end, end);
    return result;
  };
  Object.defineProperty(wrapper, 'name', { value: original.name });
  wrapper[WRAPPED] = true;
  return wrapper as H;
}

/** Wraps a route handler so that, in a debugged request, access ends when it starts. */
export function timedHandler<H>(handler: H): H {
  if (typeof handler !== 'function') return handler;
  const original = handler as Marked<RouteHandler>;
  if (original[WRAPPED] === true) return handler;
  const wrapper: Marked<RouteHandler> = function (this: unknown, request, reply) {
    timingOf(request)?.endAccess();
    return original.call(this, request, reply);
  };
  Object.defineProperty(wrapper, 'name', { value: original.name });
  wrapper[WRAPPED] = true;
  return wrapper as H;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
