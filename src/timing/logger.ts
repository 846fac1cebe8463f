import { diag } from '@opentelemetry/api';
import { contextRegistry } from '../patching/otel-internals';

/** Receives each line of request-debug log output. */
export type RequestDebugLogger = (line: string) => void;

/** True if the application registered an OpenTelemetry diag logger. */
function hasDiagLogger(): boolean {
  return contextRegistry()?.diag !== undefined;
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

/** How an operator recognises dynamic-hooks' own lines on stderr. */
export const OPERATOR_PREFIX = '[dynamic-hooks]';

/** Messages already written to stderr: each one once per process (bounded, they come from configuration). */
const told = new Set<string>();
const MAX_TOLD = 256;

/**
 * Tells the operator something they must not miss (the generated debug
 * token, a bad setting): through diag at `level`, as `dynamic-hooks:
 * <message>`, and once per process as a `[dynamic-hooks] <message>` line on
 * stderr, because diag drops it when no logger is set yet (a
 * `TimingInstrumentation` is constructed before `NodeSDK` installs one) or
 * at all. Never throws.
 */
export function tellOperator(level: 'info' | 'warn' | 'error', message: string): void {
  try {
    diag[level](`dynamic-hooks: ${message}`);
  } catch {
    // A broken diag logger must not hide the stderr line, nor break the caller.
  }
  if (told.has(message)) return;
  if (told.size < MAX_TOLD) told.add(message);
  try {
    // One line, whatever a setting's value holds.
    process.stderr.write(`${OPERATOR_PREFIX} ${message.replace(/\p{Cc}/gu, ' ')}\n`);
  } catch {
    // stderr closed: nothing more can be done.
  }
}
