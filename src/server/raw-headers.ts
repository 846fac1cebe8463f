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

/**
 * The value of the raw header `lowerName` (compared without case), as
 * `message.headers` would give it, without building that object: a
 * repeated header's values joined with `', '`, as Node joins a header it
 * does not know; `undefined` if absent. Only the first `limit` entries
 * are read: give it {@link parsedHeaderCount} to read what Node parsed.
 */
export function rawHeaderValue(
  rawHeaders: readonly string[],
  lowerName: string,
  limit = rawHeaders.length,
): string | undefined {
  let value: string | undefined;
  const end = Math.min(limit, rawHeaders.length);
  for (let i = 0; i < end; i += 2) {
    const name = rawHeaders[i];
    if (name.length !== lowerName.length || !startsWithLower(name, lowerName)) continue;
    value = value === undefined ? rawHeaders[i + 1] : `${value}, ${rawHeaders[i + 1]}`;
  }
  return value;
}

/**
 * Removes headers `lowerNames` from a message's parsed and raw headers,
 * before the application reads them. Node builds the parsed headers
 * (`headers`, `headersDistinct`) from the raw ones on first read: those
 * not built yet are left to be built without the removed headers, so no
 * delete turns them into a slower dictionary.
 */
export function removeHeaders(message: IncomingMessage, lowerNames: readonly string[]): void {
  const slots = parsedHeaderSlots(message);
  if (slots.count === undefined) {
    // A Node that does not say how many raw headers its getters read: build both now, from all of them.
    Reflect.get(message, 'headers');
    Reflect.get(message, 'headersDistinct');
  }
  const own = message as unknown as Record<symbol, unknown>;
  const count = countIn(message, slots);
  const parsed = count ?? Infinity;
  const raw = message.rawHeaders;
  // Of those Node's getters read (past its maxHeadersCount it keeps raw headers that they do not).
  let removedParsed = 0;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (!isOneOf(raw[i], lowerNames)) continue;
    raw.splice(i, 2);
    if (i < parsed) removedParsed += 2;
  }
  if (slots.count !== undefined && count !== undefined && removedParsed > 0) {
    // Else a getter building later would read past the end of the shortened array and throw, or skip the last headers.
    own[slots.count] = Math.max(0, count - removedParsed);
  }
  if (maybeBuilt(own, slots.count, slots.headers)) deleteNames(message.headers, lowerNames);
  if (maybeBuilt(own, slots.count, slots.distinct)) deleteNames(message.headersDistinct, lowerNames);
}

/**
 * How many entries of `message.rawHeaders` Node's parsed headers are
 * built from: past its `maxHeadersCount`, Node keeps raw headers that
 * `headers` and `headersDistinct` leave out. All of them on a Node (or a
 * message) that does not say.
 */
export function parsedHeaderCount(message: IncomingMessage): number {
  const count = countIn(message, parsedHeaderSlots(message));
  return Math.min(count ?? Infinity, message.rawHeaders.length);
}

/** Node's count of the raw header entries its getters read, if it keeps one. */
function countIn(message: IncomingMessage, slots: ParsedHeaderSlots): number | undefined {
  const count = slots.count === undefined ? undefined : (message as unknown as Record<symbol, unknown>)[slots.count];
  return typeof count === 'number' ? count : undefined;
}

/**
 * Where Node keeps an `IncomingMessage`'s parsed headers and how many raw
 * headers its getters read (`kHeaders`, `kHeadersDistinct`,
 * `kHeadersCount`: its own symbol properties, found by description; the
 * first two exist once built). Pinned for the Node that runs the tests by
 * `test/server/raw-headers.test.ts`.
 */
interface ParsedHeaderSlots {
  headers?: symbol;
  distinct?: symbol;
  count?: symbol;
}

/**
 * Node's slots, the same symbols on every message Node makes: learnt once
 * from a message of its own whose parsed headers are built (`null`: this
 * Node does not say). Walking a request's own symbols instead, a dozen
 * read by description, was a third of what removing a debugged request's
 * headers cost.
 */
let nodeSlots: ParsedHeaderSlots | null | undefined;

function parsedHeaderSlots(message: IncomingMessage): ParsedHeaderSlots {
  nodeSlots ??= probeNodeSlots();
  if (nodeSlots !== null && Object.hasOwn(message, nodeSlots.count as symbol)) return nodeSlots;
  return symbolSlots(message);
}

function probeNodeSlots(): ParsedHeaderSlots | null {
  // getBuiltinModule goes around require hooks (see patch-builtins.ts); absent before Node 20.16.
  const http = process.getBuiltinModule?.('node:http');
  if (http === undefined) return null;
  const probe = new http.IncomingMessage(null as never);
  Reflect.get(probe, 'headers');
  Reflect.get(probe, 'headersDistinct');
  const slots = symbolSlots(probe);
  return slots.headers !== undefined && slots.distinct !== undefined && slots.count !== undefined ? slots : null;
}

function symbolSlots(message: IncomingMessage): ParsedHeaderSlots {
  const slots: ParsedHeaderSlots = {};
  for (const key of Object.getOwnPropertySymbols(message)) {
    if (key.description === 'kHeaders') slots.headers = key;
    else if (key.description === 'kHeadersDistinct') slots.distinct = key;
    else if (key.description === 'kHeadersCount') slots.count = key;
  }
  return slots;
}

/** Whether parsed headers kept under `key` may exist: wherever Node does not tell (no count), they were built above. */
function maybeBuilt(own: Record<symbol, unknown>, count: symbol | undefined, key: symbol | undefined): boolean {
  if (count === undefined) return true;
  if (key === undefined) return false;
  const built = own[key];
  return built !== null && built !== undefined;
}

function deleteNames(headers: object | undefined, lowerNames: readonly string[]): void {
  // A message of another kind (no headersDistinct) has nothing there to remove.
  if (typeof headers !== 'object' || headers === null) return;
  // Only those present: a delete turns the object into a slower dictionary.
  for (const name of lowerNames) if (Object.hasOwn(headers, name)) Reflect.deleteProperty(headers, name);
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
