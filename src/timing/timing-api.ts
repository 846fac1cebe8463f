import { checkGroupName, describe } from '../core/validate';
import { handlerContext } from './context-tree';
import { activeDebugRequest, debugMayBeActive, debugRequestIn } from './debug-request';
import { isPropValue, RESERVED_PROPS, type PropValue } from './timing-tree';

/** Checks a prop in every request, debugged or not, so that a bad one fails in tests, not only when debugged. */
function checkProp(key: unknown, value: unknown): asserts key is string {
  checkGroupName(key, 'key');
  if (RESERVED_PROPS.has(key)) throw new TypeError(`key '${key}' is reserved for the timing output`);
  if (!isPropValue(value)) {
    throw new TypeError(
      `value of prop '${key}' must be a string, a finite number or a boolean, got ${describe(value)}`,
    );
  }
}

/**
 * The timing module's functions, as Kong's `kong.timing`. Each acts on the
 * debugged request the calling code belongs to and does nothing outside
 * one, so they are safe to call from any code path.
 */
export const timing = Object.freeze({
  /**
   * Enters timing context `name` under the current one. The tree is at
   * most `MAX_TREE_DEPTH` (128) contexts deep: a deeper context is not
   * added (the root's `contexts_dropped` counts them), and its
   * `leaveContext()` leaves nothing else.
   */
  enterContext(name: string): void {
    checkGroupName(name, 'name');
    if (!debugMayBeActive()) return;
    const ctx = handlerContext();
    debugRequestIn(ctx)?.contexts.enter(name, ctx);
  },
  /** Leaves the current timing context, adding its duration to its `total_time`. */
  leaveContext(): void {
    activeDebugRequest()?.contexts.leave();
  },
  /**
   * Sets a property of the current timing context (and an attribute of its
   * span). `value` is a string, a finite number or a boolean, and `key` a
   * non-empty string other than the fields the module writes itself
   * (`total_time`, `child`, `dangling`, `request_id`, `trace_id`,
   * `downstream`, `downstream_dropped`, `contexts_dropped`); anything else
   * throws a TypeError, in a debugged request or not.
   */
  setContextProp(key: string, value: PropValue): void {
    checkProp(key, value);
    activeDebugRequest()?.contexts.setProp(key, value);
  },
  /** Sets a property of the request's root context (and of its root span); checked as `setContextProp`. */
  setRootContextProp(key: string, value: PropValue): void {
    checkProp(key, value);
    activeDebugRequest()?.contexts.setRootProp(key, value);
  },
  /** Reads a property of the current timing context. */
  getContextKv(key: string): unknown {
    return activeDebugRequest()?.contexts.getProp(key);
  },
  /**
   * Adds a context chain measured elsewhere, `path` from the root down,
   * each lasting from `start` to `end` (milliseconds of `performance.now()`),
   * with its spans: how a proxy reports Kong's `upstream` >
   * `time_to_first_byte` and `streaming` once it knows them.
   */
  recordContext(path: readonly string[], start: number, end: number): void {
    if (!Array.isArray(path) || path.length === 0) throw new TypeError('path must be a non-empty array of names');
    path.forEach((name: unknown, i) => {
      checkGroupName(name, `path[${i}]`);
    });
    if (typeof start !== 'number' || typeof end !== 'number' || !(end >= start)) {
      throw new RangeError('start and end must be performance.now() readings with end >= start');
    }
    activeDebugRequest()?.contexts.record(path, start, end);
  },
});
