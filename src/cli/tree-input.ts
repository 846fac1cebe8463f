import { LOG_PREFIX } from '../timing/output';

/** A timing tree (or a truncation notice) as the server wrote it: a JSON object. */
export type OutputJson = Record<string, unknown>;

/** Input `show` cannot draw; the message says what was wrong with it. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** What a saved input held: the trees found, and the ones that could not be put back together. */
export interface ParsedInput {
  readonly trees: readonly OutputJson[];
  /** One message per request whose log output was incomplete or unreadable. */
  readonly problems: readonly string[];
}

/** Fields of which an output has at least one. */
const OUTPUT_FIELDS = ['child', 'request_id', 'trace_id', 'truncated', 'total_time'];
/** `[request-debug] request_id: <id> [parts: i/n ]output: <json or chunk>` (src/timing/output.ts writes it). */
const LOG_LINE = new RegExp(`${escapeRegExp(LOG_PREFIX)} request_id: (\\S+) (?:parts: (\\d+)/(\\d+) )?output: (.*)$`);
/** A saved response header, as `curl -D -` or `curl -v` prints it. */
const HEADER_LINE = /-Output:[ \t]*(\{.*\})[ \t]*$/i;

/**
 * Finds the timing trees in saved text: a tree's JSON (the header value, as
 * `debug --json` prints it, indented or not), the server's `[request-debug]`
 * log lines (one line per tree, or `parts: i/n` lines reassembled by
 * request id, among any other log lines, plain or as JSON log records), or
 * saved response headers. Throws an `InputError` when it finds none.
 */
export function parseDebugInput(text: string): ParsedInput {
  const trimmed = text.trim();
  if (trimmed === '') throw new InputError('the input is empty');
  let jsonError: string | undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (isOutput(value)) return { trees: [value], problems: [] };
  } catch (error) {
    jsonError = (error as Error).message;
  }
  const lines = trimmed.split(/\r?\n/);
  const fromLog = reassembleLogLines(lines);
  if (fromLog.trees.length > 0 || fromLog.problems.length > 0) return fromLog;
  const fromHeaders = lines.flatMap((line) => {
    const match = HEADER_LINE.exec(line);
    if (match === null) return [];
    try {
      const value: unknown = JSON.parse(match[1]);
      return isOutput(value) ? [value] : [];
    } catch {
      return [];
    }
  });
  if (fromHeaders.length > 0) return { trees: fromHeaders, problems: [] };
  if (jsonError !== undefined) {
    throw new InputError(`not valid JSON (${jsonError}), and no ${LOG_PREFIX} log lines or -Output headers in it`);
  }
  throw new InputError(`valid JSON, but not a timing tree: expected an object with ${OUTPUT_FIELDS.join(', ')}`);
}

interface LoggedOutput {
  whole: string | undefined;
  parts: Map<number, string>;
  count: number;
}

/**
 * Puts the trees back together from log lines, one per request id, in the
 * order the requests first appear. Lines that are not request-debug output
 * are skipped; the parts of a split output may come in any order.
 */
export function reassembleLogLines(lines: readonly string[]): ParsedInput {
  const byRequest = new Map<string, LoggedOutput>();
  const problems: string[] = [];
  for (const line of lines) {
    const match = LOG_LINE.exec(logMessage(line));
    if (match === null) continue;
    const [, requestId, index, count, output] = match;
    let logged = byRequest.get(requestId);
    if (logged === undefined) {
      logged = { whole: undefined, parts: new Map(), count: 0 };
      byRequest.set(requestId, logged);
    }
    if (index === undefined) {
      logged.whole = output;
      continue;
    }
    if (logged.count !== 0 && logged.count !== Number(count)) {
      problems.push(`request_id ${requestId}: its parts disagree on their count (${logged.count} and ${count})`);
    }
    logged.count = Math.max(logged.count, Number(count));
    logged.parts.set(Number(index), output);
  }

  const trees: OutputJson[] = [];
  for (const [requestId, logged] of byRequest) {
    let json = logged.whole;
    if (json === undefined) {
      const missing: number[] = [];
      for (let i = 1; i <= logged.count; i++) if (!logged.parts.has(i)) missing.push(i);
      if (missing.length > 0) {
        problems.push(
          `request_id ${requestId}: part${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${logged.count} ` +
            `missing from the input`,
        );
        continue;
      }
      json = Array.from({ length: logged.count }, (_, i) => logged.parts.get(i + 1)).join('');
    }
    try {
      const value: unknown = JSON.parse(json);
      if (isOutput(value)) trees.push(value);
      else problems.push(`request_id ${requestId}: the logged output is not a timing tree`);
    } catch (error) {
      problems.push(`request_id ${requestId}: the logged output is not valid JSON (${(error as Error).message})`);
    }
  }
  return { trees, problems };
}

/** The message of a log line: the line itself, or the string field that holds the output in a JSON log record. */
function logMessage(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!text.trimStart().startsWith('{') || !text.includes(LOG_PREFIX)) return text;
  try {
    const record: unknown = JSON.parse(text);
    if (typeof record === 'object' && record !== null) {
      for (const value of Object.values(record)) {
        if (typeof value === 'string' && value.includes(LOG_PREFIX)) return value;
      }
    }
  } catch {
    // Not a JSON record: read the line as it is.
  }
  return text;
}

function isOutput(value: unknown): value is OutputJson {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return OUTPUT_FIELDS.some((field) => field in value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
