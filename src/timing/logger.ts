import { diag } from '@opentelemetry/api';

/** Receives each line of request-debug log output. */
export type RequestDebugLogger = (line: string) => void;

const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/** True if the application registered an OpenTelemetry diag logger. */
function hasDiagLogger(): boolean {
  const registry = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[API_GLOBAL];
  return registry?.diag !== undefined;
}

/**
 * The default logger: `diag.info` when the application registered a diag
 * logger, otherwise one line on stderr, so the output is never dropped
 * silently.
 */
export const defaultLogger: RequestDebugLogger = (line) => {
  if (hasDiagLogger()) diag.info(line);
  else process.stderr.write(`${line}\n`);
};
