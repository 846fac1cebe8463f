import type { IncomingMessage } from 'node:http';

/**
 * `IncomingMessage` headers: reading `rawHeaders` without building the
 * parsed headers object, and removing headers; and removing a header from
 * the headers given to `ServerResponse#writeHead`.
 */

/** True if a raw header name starts with `lowerPrefix`, compared without case and without allocating. */
export function hasHeaderWithPrefix(rawHeaders: readonly string[], lowerPrefix: string): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length >= lowerPrefix.length && startsWithLower(name, lowerPrefix)) return true;
  }
  return false;
}

function startsWithLower(name: string, lowerPrefix: string): boolean {
  for (let j = 0; j < lowerPrefix.length; j++) {
    const expected = lowerPrefix.charCodeAt(j);
    const actual = name.charCodeAt(j);
    if (actual !== expected && !(expected >= 0x61 && expected <= 0x7a && actual === expected - 0x20)) return false;
  }
  return true;
}

/** True if a raw header named `lowerName` (compared without case) has a value containing `needle`; no allocation. */
export function hasHeaderContaining(rawHeaders: readonly string[], lowerName: string, needle: string): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === lowerName.length && startsWithLower(name, lowerName) && rawHeaders[i + 1].includes(needle)) {
      return true;
    }
  }
  return false;
}

/** Removes headers `lowerNames` from a message's parsed and raw headers, before the application reads them. */
export function removeHeaders(message: IncomingMessage, lowerNames: readonly string[]): void {
  const headers = message.headers;
  // Only those present: a delete turns the object into a slower dictionary.
  for (const name of lowerNames) if (Object.hasOwn(headers, name)) Reflect.deleteProperty(headers, name);
  const raw = message.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (isOneOf(raw[i], lowerNames)) raw.splice(i, 2);
  }
}

/** `lowerNames.includes(name.toLowerCase())`, without allocating for an ASCII name (all that Node's parser lets through). */
function isOneOf(name: string, lowerNames: readonly string[]): boolean {
  for (const lowerName of lowerNames) {
    if (name.length === lowerName.length && startsWithLower(name, lowerName)) return true;
  }
  return !isAscii(name) && lowerNames.includes(name.toLowerCase());
}

function isAscii(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The arguments of a `writeHead(statusCode[, statusMessage][, headers])`
 * call without the headers `lowerNames` (compared without case) in
 * `headers`, whether an object or a flat `[name, value, ...]` array: `args`
 * itself if it has none of them, else a copy (the caller's headers are not
 * changed).
 */
export function writeHeadArgsWithout(args: ArrayLike<unknown>, lowerNames: readonly string[]): ArrayLike<unknown> {
  const at = typeof args[1] === 'string' ? 2 : 1;
  const headers = args[at];
  if (lowerNames.length === 0 || typeof headers !== 'object' || headers === null) return args;
  const filtered = Array.isArray(headers)
    ? withoutRawHeaders(headers, lowerNames)
    : withoutHeaderProperties(headers as Record<string, unknown>, lowerNames);
  if (filtered === headers) return args;
  const copy = Array.from(args);
  copy[at] = filtered;
  return copy;
}

function withoutRawHeaders(headers: readonly unknown[], lowerNames: readonly string[]): readonly unknown[] {
  const matches = (i: number): boolean => {
    const name = headers[i];
    return typeof name === 'string' && lowerNames.includes(name.toLowerCase());
  };
  let found = false;
  for (let i = 0; i < headers.length && !found; i += 2) found = matches(i);
  if (!found) return headers;
  const out: unknown[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!matches(i)) out.push(headers[i], headers[i + 1]);
  }
  return out;
}

function withoutHeaderProperties(
  headers: Record<string, unknown>,
  lowerNames: readonly string[],
): Record<string, unknown> {
  const names = Object.keys(headers);
  if (!names.some((name) => lowerNames.includes(name.toLowerCase()))) return headers;
  const out: Record<string, unknown> = {};
  for (const name of names) if (!lowerNames.includes(name.toLowerCase())) out[name] = headers[name];
  return out;
}
