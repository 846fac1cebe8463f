import type { IncomingMessage } from 'node:http';

/**
 * `IncomingMessage` headers: reading `rawHeaders` without building the
 * parsed headers object, and removing headers.
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
