import { diag } from '@opentelemetry/api';

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

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
