import type { OutputJson } from './tree-input';

/** One timing context, as one row of the waterfall. */
export interface WaterfallRow {
  readonly name: string;
  /** 0 for the request's phases (the root's children), 1 below them, and so on. */
  readonly depth: number;
  /** Milliseconds; undefined if the node has no numeric `total_time`. */
  readonly totalTime: number | undefined;
  /**
   * Where the bar starts, in ms from the start of the request. Kong's tree
   * holds durations but no start times: a node starts where its parent
   * starts, after its earlier siblings (in output order), kept inside its
   * parent's span.
   */
  readonly offset: number;
  /** The node's own fields besides `total_time`, `child` and `dangling`, as `[key, text]`. */
  readonly props: readonly (readonly [string, string])[];
  /** Still open when the output was produced (`dangling: true`). */
  readonly dangling: boolean;
}

/** A timing tree laid out for drawing. */
export interface Waterfall {
  readonly rows: readonly WaterfallRow[];
  /** The time the bars are scaled to: the root's `total_time`, else the sum of its children's. */
  readonly totalTime: number;
  /** Where `totalTime` comes from: the root's own `total_time`, or the sum of the phases. */
  readonly totalFrom: 'root' | 'phases';
  /** The root's fields (`request_id`, `trace_id`, `workspace_id`, ...), as `[key, text]`. */
  readonly info: readonly (readonly [string, string])[];
  /** The root was still open when the output was produced. */
  readonly dangling: boolean;
}

/** A truncation notice: the server logged the tree instead of sending it. */
export interface Truncation {
  readonly requestId: string | undefined;
  readonly message: string | undefined;
}

/** The notice in place of a tree whose header output was over the limit, or undefined for a tree. */
export function truncationOf(output: OutputJson): Truncation | undefined {
  if (output.truncated !== true) return undefined;
  return {
    requestId: typeof output.request_id === 'string' ? output.request_id : undefined,
    message: typeof output.message === 'string' ? output.message : undefined,
  };
}

/**
 * Lays a tree out as rows, depth first in output order. Tolerates what a
 * newer or older server might write: unknown fields become props, a child
 * that is not an object becomes a row with its value as a prop, a missing
 * or non-numeric `total_time` a row without a bar.
 */
export function toWaterfall(output: OutputJson): Waterfall {
  const children = childrenOf(output);
  const rootTotal = timeOf(output);
  const totalTime = rootTotal ?? children.reduce((sum, [, node]) => sum + (timeOf(node) ?? 0), 0);
  const rows: WaterfallRow[] = [];
  addRows(rows, children, 0, 0, totalTime);
  return {
    rows,
    totalTime,
    totalFrom: rootTotal === undefined ? 'phases' : 'root',
    info: propsOf(output),
    dangling: output.dangling === true,
  };
}

function addRows(
  rows: WaterfallRow[],
  children: readonly (readonly [string, unknown])[],
  depth: number,
  parentOffset: number,
  parentTime: number,
): void {
  let next = parentOffset;
  for (const [name, node] of children) {
    const totalTime = timeOf(node);
    const time = totalTime ?? 0;
    // Siblings end to end, but never past the parent's end (they may have run concurrently).
    const offset = Math.max(parentOffset, Math.min(next, parentOffset + parentTime - time));
    next = offset + time;
    const object = isObject(node);
    rows.push({
      name,
      depth,
      totalTime,
      offset,
      props: object ? propsOf(node) : [['value', textOf(node)]],
      dangling: object && node.dangling === true,
    });
    if (object) addRows(rows, childrenOf(node), depth + 1, offset, time);
  }
}

function childrenOf(node: OutputJson): (readonly [string, unknown])[] {
  return isObject(node.child) ? Object.entries(node.child) : [];
}

function isObject(value: unknown): value is OutputJson {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function timeOf(node: unknown): number | undefined {
  if (!isObject(node)) return undefined;
  const time = node.total_time;
  return typeof time === 'number' && Number.isFinite(time) && time >= 0 ? time : undefined;
}

function propsOf(node: OutputJson): [string, string][] {
  const props: [string, string][] = [];
  for (const [key, value] of Object.entries(node)) {
    // What cannot be drawn as a tree or a bar (a non-object child, a non-numeric time) is shown as a prop.
    if (key === 'child' && isObject(value)) continue;
    if (key === 'total_time' && timeOf(node) !== undefined) continue;
    if (key === 'dangling' && typeof value === 'boolean') continue;
    props.push([key, textOf(value)]);
  }
  return props;
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'undefined';
  return JSON.stringify(value);
}
