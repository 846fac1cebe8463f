/** One row of a drawn ASCII waterfall, read back. */
export interface RenderedRow {
  readonly depth: number;
  readonly name: string;
  /** The ms figure as printed (`'-'` for a node without a time). */
  readonly ms: string;
  /** The track between the two `|`, bar and blanks. */
  readonly track: string;
  readonly props: string;
}

const ROW = /^( *)(\S+) +(\d+\.\d{2}|-) {2}\|([^|]*)\|(?: {2}(.*))?$/;

/** The rows of an ASCII waterfall in `text` (other lines are skipped). */
export function renderedRows(text: string): RenderedRow[] {
  return text.split('\n').flatMap((line) => {
    const match = ROW.exec(line);
    if (match === null) return [];
    const [, indent, name, ms, track, props] = match;
    return [{ depth: indent.length / 2, name, ms, track, props: props ?? '' }];
  });
}

/** The names of the rows, each prefixed by its ancestors': `access/dns/localhost`. */
export function rowPaths(rows: readonly RenderedRow[]): string[] {
  const stack: string[] = [];
  return rows.map((row) => {
    stack.length = row.depth;
    stack.push(row.name);
    return stack.join('/');
  });
}

/** Fails unless every byte is below 0x80. */
export function nonAsciiAt(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.findIndex((byte) => byte >= 0x80);
}
