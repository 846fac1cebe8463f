import { diag } from '@opentelemetry/api';
import { isPromise } from 'node:util/types';

/**
 * Reports a handler that threw. The host call never sees the failure; the
 * operator reads it through the OpenTelemetry diag logger.
 */
export function reportHandlerFailure(group: string, hookName: string, error: unknown): void {
  try {
    diag.warn(`failed to run dynamic hook ${group}.${hookName}: ${describeError(error)}`);
  } catch {
    // A broken diag logger must not break the host either.
  }
}

/**
 * Reports the rejection of what a handler returned, if it is a promise or
 * a thenable, as `reportHandlerFailure` reports a throw; a `then` that
 * cannot be read or called is reported the same way. It does not wait:
 * the handler's operation goes on on its own.
 */
export function reportRejection(returned: unknown, group: string, hookName: () => string): void {
  onRejection(returned, (error) => {
    reportHandlerFailure(group, hookName(), error);
  });
}

/**
 * Calls `onRejected` if `value` is a promise or a thenable that rejects; a
 * native promise is observed through `Promise.prototype.then`, never its
 * own `then`. A `then` that cannot be read or called is passed to
 * `onRejected` at once, and the result is then `false`.
 */
export function onRejection(value: unknown, onRejected: (error: unknown) => void): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return true;
  try {
    const then: unknown = isPromise(value) ? promiseThen : (value as { then?: unknown }).then;
    if (typeof then === 'function') apply(then, value, [undefined, onRejected]);
    return true;
  } catch (error) {
    onRejected(error);
    return false;
  }
}

const apply = Reflect.apply;
const promiseThen = Promise.prototype.then;

/** An error as a log line shows it, whatever was thrown (even one whose `stack` or `toString` throws). */
export function describeError(error: unknown): string {
  try {
    if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
