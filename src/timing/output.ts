import { diag } from '@opentelemetry/api';
import { describeError } from '../core/report-failure';

/** Header output longer than this, for a non-loopback client, is replaced by a pointer to the log (Kong's limit). */
export const HEADER_OUTPUT_LIMIT = 2 * 1024;
/**
 * Header output longer than this, for a loopback client, is replaced by a
 * pointer to the log: half of Node's default 16 KB limit on a response's
 * headers (`--max-http-header-size`), which its HTTP client (the CLI's
 * included) enforces, leaving room for the application's other headers.
 */
export const LOOPBACK_HEADER_OUTPUT_LIMIT = 8 * 1024;
/**
 * A called service's header output longer than this is not nested as
 * `downstream`: no service of ours writes a larger one.
 */
export const MAX_DOWNSTREAM_OUTPUT = LOOPBACK_HEADER_OUTPUT_LIMIT;
/**
 * A called service's header output nested deeper than this (JSON objects
 * and arrays) is not nested as `downstream`: about five services deep of
 * ordinary trees, far from what breaks `JSON.stringify`.
 */
export const MAX_DOWNSTREAM_DEPTH = 64;
/** Bytes of downstream outputs one request nests at most; later ones are dropped with a note. */
export const MAX_DOWNSTREAM_BYTES = 64 * 1024;
/** Log output longer than this is split into numbered parts (Kong's limit). */
export const LOG_PART_LIMIT = 3 * 1024;
/** Prefix of every log line the timing module writes. */
export const LOG_PREFIX = '[request-debug]';

/** The header output limit for a client. */
export function headerOutputLimit(loopback: boolean): number {
  return loopback ? LOOPBACK_HEADER_OUTPUT_LIMIT : HEADER_OUTPUT_LIMIT;
}

/**
 * JSON that is safe as an HTTP header value: every character outside
 * printable ASCII is written as a `\uXXXX` escape, which JSON parsers read
 * back unchanged.
 */
export function asciiJson(value: unknown): string {
  return asciiSafe(JSON.stringify(value));
}

/** `json` with every character outside printable ASCII written as a `\uXXXX` escape (see `asciiJson`). */
export function asciiSafe(json: string): string {
  if (!NOT_PRINTABLE_ASCII.test(json)) return json;
  return json.replace(NOT_PRINTABLE_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
const NOT_PRINTABLE_ASCII_ALL = /[^\x20-\x7e]/g;

/**
 * What goes into the response header, and whether the full tree must go
 * to the log instead; `json` is the tree's, `undefined` if known to be
 * over the limit.
 */
export function headerOutput(
  json: string | undefined,
  loopback: boolean,
  requestId: string,
): { readonly value: string; readonly truncated: boolean } {
  if (json !== undefined && json.length <= headerOutputLimit(loopback)) return { value: json, truncated: false };
  const value = asciiJson({
    truncated: true,
    request_id: requestId,
    message: `Output is truncated: the full output is in the log, under request_id ${requestId}.`,
  });
  return { value, truncated: true };
}

/**
 * The log lines for one output: one line, or numbered parts of at most
 * `LOG_PART_LIMIT` characters each whose `output` fields concatenate back
 * to the JSON.
 */
export function logLines(json: string, requestId: string): string[] {
  const head = `${LOG_PREFIX} request_id: ${requestId}`;
  if (json.length <= LOG_PART_LIMIT) return [`${head} output: ${json}`];
  const count = Math.ceil(json.length / LOG_PART_LIMIT);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const part = json.slice(i * LOG_PART_LIMIT, (i + 1) * LOG_PART_LIMIT);
    lines.push(`${head} parts: ${i + 1}/${count} output: ${part}`);
  }
  return lines;
}

/**
 * Reports an output that could not be produced or delivered (a throwing
 * logger, a tree that would not serialise). The response and the process
 * never see the failure.
 */
export function reportOutputFailure(what: string, requestId: string, error: unknown): void {
  try {
    diag.warn(`dynamic-hooks timing: ${what} of request ${requestId} failed: ${describeError(error)}`);
  } catch {
    // A broken diag logger must not break the host either.
  }
}
