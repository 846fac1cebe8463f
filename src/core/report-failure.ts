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
  if ((typeof returned !== 'object' && typeof returned !== 'function') || returned === null) return;
  const onRejected = (error: unknown): void => {
    reportHandlerFailure(group, hookName(), error);
  };
  try {
    const then: unknown = isPromise(returned) ? promiseThen : (returned as { then?: unknown }).then;
    if (typeof then === 'function') apply(then, returned, [undefined, onRejected]);
  } catch (error) {
    onRejected(error);
  }
}

const apply = Reflect.apply;
const promiseThen = Promise.prototype.then;

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
