import { createContextKey, type Context } from '@opentelemetry/api';

/** The key of the scope frame (request scope and group overlay) in an OpenTelemetry context. */
export const FRAME_KEY = createContextKey('dynamic-hooks scope frame');

/**
 * An OpenTelemetry context that is `parent` with a scope frame on top: what
 * the library makes for each request (and each `withGroupsEnabled`)
 * instead of `parent.setValue(FRAME_KEY, frame)`. The API's own contexts
 * copy every value of their parent into a new `Map`, with three closures,
 * on each `setValue`; a request scope is made for every request, so this
 * one object holds the frame and reads anything else from its parent.
 *
 * It behaves as the API's contexts do: `setValue` and `deleteValue` return
 * a new context and leave this one unchanged. The parent is never another
 * `ScopeContext` (a new frame replaces the one on top, and other values
 * are set on the parent), so a lookup goes one step down at most.
 */
class ScopeContext implements Context {
  constructor(
    readonly parent: Context,
    readonly frame: unknown,
  ) {}

  getValue(key: symbol): unknown {
    return key === FRAME_KEY ? this.frame : this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    if (key === FRAME_KEY) return new ScopeContext(this.parent, value);
    return new ScopeContext(this.parent.setValue(key, value), this.frame);
  }

  deleteValue(key: symbol): Context {
    if (key === FRAME_KEY) return this.parent.deleteValue(key);
    return new ScopeContext(this.parent.deleteValue(key), this.frame);
  }
}

/** A child of `ctx` whose scope frame is `frame`, as `ctx.setValue(FRAME_KEY, frame)` without copying `ctx`. */
export function contextWithFrame(ctx: Context, frame: unknown): Context {
  return ctx instanceof ScopeContext ? ctx.setValue(FRAME_KEY, frame) : new ScopeContext(ctx, frame);
}
