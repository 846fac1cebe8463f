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
 * (compared without case) among its headers, whether an object or a flat
 * `[name, value, ...]` array: `args` itself if it has none of them, else a
 * copy (the caller's headers are not changed).
 */
export function writeHeadArgsWithout(args: ArrayLike<unknown>, lowerNames: readonly string[]): ArrayLike<unknown> {
  const at = lowerNames.length === 0 ? -1 : headersIndex(args);
  if (at < 0) return args;
  const headers = args[at] as object;
  const filtered = Array.isArray(headers)
    ? withoutRawHeaders(headers, lowerNames)
    : withoutHeaderProperties(headers as Record<string, unknown>, lowerNames);
  if (filtered === headers) return args;
  const copy = Array.from(args);
  copy[at] = filtered;
  return copy;
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
