import type { Waterfall, WaterfallRow } from './waterfall';

/** How to draw: the characters, colours and width the output device can take. */
export interface RenderStyle {
  /** Unicode block characters and box lines; otherwise pure ASCII (every byte < 0x80). */
  readonly unicode: boolean;
  /** ANSI colours. */
  readonly color: boolean;
  /** Columns the output should fit in (props may run past it). */
  readonly width: number;
}

/** Plain ASCII, no colour, 100 columns: what goes to a file or a pipe. */
export const PLAIN_STYLE: RenderStyle = { unicode: false, color: false, width: 100 };

/** Partial cells for a bar's last eighths (left-aligned blocks). */
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const PHASE_COLORS = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94];
const MIN_BAR = 10;
/** Control and format characters (bidi overrides included): they could drive or disguise the terminal. */
const CONTROL = /[\p{Cc}\p{Cf}]/gu;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;
const GAP = '  ';

/**
 * Draws a waterfall: a line for the root's fields, a scale line, one row per
 * context (name indented by depth, total_time in ms with two decimals, the
 * bar, the props), and a note on what the bars mean.
 */
export function renderWaterfall(waterfall: Waterfall, style: RenderStyle): string[] {
  const paint = painter(style.color);
  const lines: string[] = [];
  if (waterfall.info.length > 0) lines.push(paint(2, propsText(waterfall.info, style)));
  if (waterfall.dangling) {
    lines.push(paint(31, 'dangling: the request was still open when this output was produced'));
  }
  if (waterfall.rows.length === 0) {
    lines.push('(no timing contexts in this tree)');
    return lines;
  }
  if (lines.length > 0) lines.push('');

  const names = waterfall.rows.map((row) => '  '.repeat(row.depth) + printable(row.name, style.unicode));
  const times = waterfall.rows.map((row) => (row.totalTime === undefined ? '-' : row.totalTime.toFixed(2)));
  const props = waterfall.rows.map((row) => rowProps(row, style));
  const nameWidth = Math.min(
    Math.max('context'.length, ...names.map((name) => name.length)),
    Math.max(16, Math.floor(style.width * 0.4)),
  );
  const timeWidth = Math.max('ms'.length, ...times.map((time) => time.length));
  const propsWidth = Math.max(0, ...props.map((text) => text.length));
  const propsReserve = propsWidth === 0 ? 0 : Math.min(propsWidth, 30) + GAP.length;
  const fixed = nameWidth + GAP.length + timeWidth + GAP.length + 2;
  const barWidth = Math.max(MIN_BAR, style.width - fixed - propsReserve);
  const [left, right] = style.unicode ? ['│', '│'] : ['|', '|'];

  const total = `${waterfall.totalTime.toFixed(2)} ms`;
  const scale = `0${total.padStart(barWidth + 1)}`;
  lines.push(paint(2, `${'context'.padEnd(nameWidth)}${GAP}${'ms'.padStart(timeWidth)}${GAP}${scale}`).trimEnd());

  let phase = -1;
  waterfall.rows.forEach((row, i) => {
    if (row.depth === 0) phase++;
    const name = fit(names[i], nameWidth, style.unicode).padEnd(nameWidth);
    const { lead, bar, rest } = drawBar(row, waterfall.totalTime, barWidth, style.unicode);
    const color = PHASE_COLORS[phase % PHASE_COLORS.length];
    let line = `${row.depth === 0 ? paint(1, name) : name}${GAP}${times[i].padStart(timeWidth)}${GAP}`;
    line += `${paint(2, left)}${lead}${paint(color, bar)}${rest}${paint(2, right)}`;
    if (props[i] !== '') line += GAP + (row.dangling ? paint(31, props[i]) : paint(2, props[i]));
    lines.push(line);
  });

  lines.push(
    '',
    ...wrap(
      `Bars: each context's total_time as a share of ${total}` +
        `${waterfall.totalFrom === 'phases' ? ' (the sum of the phases)' : ''}. ` +
        'The tree has durations but no start times, so a context is drawn from where its parent starts, ' +
        'after its earlier siblings, in output order.',
      style.width,
    ).map((text) => paint(2, text)),
  );
  return lines;
}

/** The key=value pairs of a row, and its dangling mark. */
function rowProps(row: WaterfallRow, style: RenderStyle): string {
  const text = propsText(row.props, style);
  if (!row.dangling) return text;
  return text === '' ? 'dangling' : `dangling ${text}`;
}

/** `key=value key=value`, printable on the output device. */
export function propsText(props: readonly (readonly [string, string])[], style: Pick<RenderStyle, 'unicode'>): string {
  return props
    .map(([key, value]) => `${printable(key, style.unicode)}=${printable(quoted(value), style.unicode)}`)
    .join(' ');
}

function quoted(value: string): string {
  return value === '' || /\s/.test(value) ? JSON.stringify(value) : value;
}

/** A bar of `row.totalTime` out of `total`, starting at `row.offset`, in a track `width` cells wide. */
function drawBar(
  row: WaterfallRow,
  total: number,
  width: number,
  unicode: boolean,
): { lead: string; bar: string; rest: string } {
  if (row.totalTime === undefined || total <= 0) return { lead: ' '.repeat(width), bar: '', rest: '' };
  const cellsPerMs = width / total;
  let bar: string;
  if (unicode) {
    let eighths = Math.min(width * 8, Math.round(row.totalTime * cellsPerMs * 8));
    if (eighths === 0 && row.totalTime > 0) eighths = 1;
    bar = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
  } else {
    const cells = Math.min(width, Math.round(row.totalTime * cellsPerMs));
    // Under half a cell, but not nothing.
    bar = cells === 0 && row.totalTime > 0 ? '-' : '#'.repeat(cells);
  }
  const lead = Math.max(0, Math.min(Math.round(row.offset * cellsPerMs), width - bar.length));
  return { lead: ' '.repeat(lead), bar, rest: ' '.repeat(width - lead - bar.length) };
}

/**
 * Text from the server made safe to print: control and format characters
 * always, and everything outside printable ASCII unless `unicode`, are
 * written as `\uXXXX` escapes.
 */
export function printable(text: string, unicode: boolean): string {
  return text.replace(unicode ? CONTROL : NOT_PRINTABLE_ASCII, (match) =>
    Array.from({ length: match.length }, (_, i) => `\\u${match.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

function fit(text: string, width: number, unicode: boolean): string {
  if (text.length <= width) return text;
  return text.slice(0, width - 1) + (unicode ? '…' : '~');
}

/** Breaks prose into lines of at most `width` columns, at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Wraps text in an ANSI SGR code, or leaves it as it is without colour. */
export function painter(color: boolean): (code: number, text: string) => string {
  return color ? (code, text) => (text === '' ? text : `\x1b[${code}m${text}\x1b[0m`) : (_code, text) => text;
}
