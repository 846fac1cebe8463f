import { MAX_DOWNSTREAM_DEPTH, MAX_DOWNSTREAM_OUTPUT, type TimingOperation } from '../../src/instrumentation-api';

/**
 * Nests a called service's header output (`X-Request-Debug-Output`, a JSON
 * tree; the downstream service was debugged through `SignedGroupsPropagator`)
 * under the operation's `http_request` context. The header comes from the
 * network, so it is untrusted: one longer than `MAX_DOWNSTREAM_OUTPUT`,
 * nested deeper than `MAX_DOWNSTREAM_DEPTH`, not JSON or not a JSON object
 * is dropped, and the context's `downstream_dropped` prop says why.
 * Returns whether the response carried one (nested or dropped).
 */
export function nestDownstreamOutput(operation: TimingOperation, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const reason = rejection(value);
  if (reason !== undefined) {
    operation.dropDownstream(reason);
    return true;
  }
  let tree: unknown;
  try {
    tree = JSON.parse(value);
  } catch {
    operation.dropDownstream('not JSON');
    return true;
  }
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) {
    operation.dropDownstream('not a JSON object');
    return true;
  }
  operation.nestDownstream(tree as Record<string, unknown>, value.length);
  return true;
}

/** Why an output breaks the limits, read before parsing it; undefined if it does not. */
function rejection(value: string): string | undefined {
  if (value.length > MAX_DOWNSTREAM_OUTPUT) return `over ${MAX_DOWNSTREAM_OUTPUT} bytes`;
  if (nestingDepthOver(value, MAX_DOWNSTREAM_DEPTH)) return `nested deeper than ${MAX_DOWNSTREAM_DEPTH}`;
  return undefined;
}

/** True if JSON text `json` nests objects and arrays deeper than `max` (brackets inside strings do not count). */
function nestingDepthOver(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
