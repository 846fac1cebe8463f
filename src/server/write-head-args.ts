/**
 * The arguments of `ServerResponse#writeHead(statusCode[, statusMessage][,
 * headers])`, read as Node reads them: the headers are the third argument
 * after a string message, else the third if given, else the second.
 */

/** Where the headers are in a `writeHead` call's arguments, or -1 if it passes none (no object there). */
export function headersIndex(args: ArrayLike<unknown>): number {
  const at = typeof args[1] === 'string' || (args[2] !== undefined && args[2] !== null) ? 2 : 1;
  const headers = args[at];
  return typeof headers === 'object' && headers !== null ? at : -1;
}

/**
 * The arguments of a `writeHead` call without the headers `lowerNames`
 * (compared without case) among its headers, in any of the forms Node
 * takes (an object, a flat `[name, value, ...]` array, an array of
 * `[name, value]` pairs): `args` itself if it has none of them, else a
 * copy (the caller's headers are not changed).
 */
export function writeHeadArgsWithout(args: ArrayLike<unknown>, lowerNames: readonly string[]): ArrayLike<unknown> {
  const at = lowerNames.length === 0 ? -1 : headersIndex(args);
  if (at < 0) return args;
  const headers = args[at] as object;
  const filtered = headersWithout(headers, lowerNames);
  if (filtered === headers) return args;
  return withHeadersAt(args, at, filtered);
}

/**
 * The arguments of a `writeHead` call that passes headers, with `name:
 * value` added to them in their own form, and without `lowerNames` and
 * any header named `name` (compared without case): a copy, the caller's
 * headers are not changed. Unlike a `setHeader` call before it, this
 * leaves the headers to Node's path for headers passed alone: a response
 * on which nothing called `setHeader` gets the headers exactly as passed
 * (repeated names, pairs), where `setHeader` first would make Node merge
 * them through `setHeader`, which keeps only the last of repeated names
 * (Node 20) and throws on an array of pairs.
 */
export function writeHeadArgsAdding(
  args: ArrayLike<unknown>,
  lowerNames: readonly string[],
  name: string,
  value: string,
): ArrayLike<unknown> {
  const at = headersIndex(args);
  if (at < 0) return writeHeadArgsWith(args, name, value);
  const headers = headersWithout(args[at] as object, [...lowerNames, name.toLowerCase()]);
  let added: object;
  if (!Array.isArray(headers)) added = { ...headers, [name]: value };
  else if (isPairs(headers)) added = [...(headers as unknown[]), [name, value]];
  else added = [...(headers as unknown[]), name, value];
  return withHeadersAt(args, at, added);
}

/**
 * The arguments of a `writeHead` call that passes no headers, with
 * `[name, value]` as its headers: Node writes them as given when nothing
 * set headers before, without building the response's header table (which
 * `setHeader` does), and otherwise replaces any header of that name.
 */
export function writeHeadArgsWith(args: ArrayLike<unknown>, name: string, value: string): unknown[] {
  return typeof args[1] === 'string' ? [args[0], args[1], [name, value]] : [args[0], [name, value]];
}

function withHeadersAt(args: ArrayLike<unknown>, at: number, headers: object): unknown[] {
  const copy = Array.from(args);
  copy[at] = headers;
  return copy;
}

/** `headers` (in any form Node takes) without `lowerNames`: itself if it has none of them. */
function headersWithout(headers: object, lowerNames: readonly string[]): object {
  if (!Array.isArray(headers)) return withoutHeaderProperties(headers as Record<string, unknown>, lowerNames);
  return isPairs(headers) ? withoutHeaderPairs(headers, lowerNames) : withoutRawHeaders(headers, lowerNames);
}

/** Whether a headers array is of `[name, value]` pairs, as Node tells them apart: by its first entry. */
function isPairs(headers: readonly unknown[]): boolean {
  return headers.length > 0 && Array.isArray(headers[0]);
}

function isOneOf(name: unknown, lowerNames: readonly string[]): boolean {
  return typeof name === 'string' && lowerNames.includes(name.toLowerCase());
}

function withoutHeaderPairs(headers: readonly unknown[], lowerNames: readonly string[]): readonly unknown[] {
  const matches = (entry: unknown): boolean => Array.isArray(entry) && isOneOf(entry[0], lowerNames);
  return headers.some(matches) ? headers.filter((entry) => !matches(entry)) : headers;
}

function withoutRawHeaders(headers: readonly unknown[], lowerNames: readonly string[]): readonly unknown[] {
  let found = false;
  for (let i = 0; i < headers.length && !found; i += 2) found = isOneOf(headers[i], lowerNames);
  if (!found) return headers;
  const out: unknown[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!isOneOf(headers[i], lowerNames)) out.push(headers[i], headers[i + 1]);
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
  // Defined, not assigned: a header named __proto__ stays a header.
  for (const name of names) {
    if (!lowerNames.includes(name.toLowerCase())) Object.defineProperty(out, name, ownValue(headers[name]));
  }
  return out;
}

function ownValue(value: unknown): PropertyDescriptor {
  return { value, enumerable: true, writable: true, configurable: true };
}
