/** Reading `IncomingMessage.rawHeaders` without building the parsed headers object. */

/** True if a raw header name starts with `lowerPrefix`, compared without case and without allocating. */
export function hasHeaderWithPrefix(rawHeaders: readonly string[], lowerPrefix: string): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length < lowerPrefix.length) continue;
    let j = 0;
    while (j < lowerPrefix.length) {
      const expected = lowerPrefix.charCodeAt(j);
      const actual = name.charCodeAt(j);
      if (actual !== expected && !(expected >= 0x61 && expected <= 0x7a && actual === expected - 0x20)) break;
      j++;
    }
    if (j === lowerPrefix.length) return true;
  }
  return false;
}
