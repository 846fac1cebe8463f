import { checkGroupName } from '../core/validate';
import { activeDebugRequest } from './debug-request';
import { RESERVED_PROPS } from './timing-tree';

function checkPropKey(key: unknown): asserts key is string {
  checkGroupName(key, 'key');
  if (RESERVED_PROPS.has(key)) throw new TypeError(`key '${key}' is reserved for the timing output`);
}

/**
 * The timing module's functions, as Kong's `kong.timing`. Each acts on the
 * debugged request the calling code belongs to and does nothing outside
 * one, so they are safe to call from any code path.
 */
export const timing = Object.freeze({
  /** Enters timing context `name` under the current one. */
  enterContext(name: string): void {
    checkGroupName(name, 'name');
    activeDebugRequest()?.enter(name);
  },
  /** Leaves the current timing context, adding its duration to its `total_time`. */
  leaveContext(): void {
    activeDebugRequest()?.leave();
  },
  /** Sets a property of the current timing context (and an attribute of its span). */
  setContextProp(key: string, value: unknown): void {
    checkPropKey(key);
    activeDebugRequest()?.setProp(key, value);
  },
  /** Sets a property of the request's root context (and of its root span). */
  setRootContextProp(key: string, value: unknown): void {
    checkPropKey(key);
    activeDebugRequest()?.setRootProp(key, value);
  },
  /** Reads a property of the current timing context. */
  getContextKv(key: string): unknown {
    return activeDebugRequest()?.getProp(key);
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
    activeDebugRequest()?.record(path, start, end);
  },
});
