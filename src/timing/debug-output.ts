import { onRejection } from '../core/report-failure';
import type { DebugRequest } from './debug-request';
import { asciiSafe, headerOutput, headerOutputLimit, logLines, reportOutputFailure } from './output';

/** Where a debugged request's timing output goes. */
export interface OutputTarget {
  /** The response header that carries the tree. */
  readonly headerName: string;
  /** The response the header output goes with (the response phases' hooks are given it). */
  readonly response: object;
  /** Sets a response header if headers were not sent yet. */
  readonly setHeader: (name: string, value: string) => void;
  readonly logger: (line: string) => void;
}

/**
 * Kong's header output: the tree so far, or a pointer to the log if too
 * large for the client (see `headerOutputLimit`). Written after the
 * response's header_filter phase, when its headers are written. Never
 * throws: it runs inside the application's `writeHead`, `write` and `end`.
 */
export function writeHeaderOutput(debug: DebugRequest): void {
  try {
    // A tree whose names alone are over the limit goes to the log without being serialised here.
    let json: string | undefined;
    if (debug.contexts.minOutputLength > headerOutputLimit(debug.loopback)) debug.contexts.closeDangling();
    else json = asciiSafe(debug.toOutputJSON());
    const { value, truncated } = headerOutput(json, debug.loopback, debug.requestId);
    if (truncated) debug.log = true;
    debug.output.setHeader(debug.output.headerName, value);
  } catch (error) {
    reportOutputFailure('the header output', debug.requestId, error);
  }
}

/**
 * Kong's log output, split into parts when large; written after the log
 * phase, only if the request asked for it or its header output was
 * truncated. Never throws: a logger that throws (or returns a promise that
 * rejects) is reported through `diag.warn`, and the request's later lines
 * are not sent to it.
 */
export function writeLogOutput(debug: DebugRequest): void {
  if (!debug.log) return;
  let lines: string[];
  try {
    lines = logLines(debug.toOutputJSON(), debug.requestId);
  } catch (error) {
    reportOutputFailure('the log output', debug.requestId, error);
    return;
  }
  // Typed to return nothing, but a JavaScript logger may return a promise.
  const logger: (line: string) => unknown = debug.output.logger;
  const failed = (error: unknown): void => {
    reportOutputFailure('the logger', debug.requestId, error);
  };
  for (const line of lines) {
    try {
      if (!onRejection(logger(line), failed)) return;
    } catch (error) {
      failed(error);
      return;
    }
  }
}
