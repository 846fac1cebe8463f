import type { Span } from '@opentelemetry/api';

/** Keys a timing context's props may not use: the fields the timing module writes itself. */
export const RESERVED_PROPS: ReadonlySet<string> = new Set([
  'total_time',
  'child',
  'dangling',
  'request_id',
  'trace_id',
  'downstream',
  'downstream_dropped',
  'contexts_dropped',
]);

/** What a timing-tree prop can hold: what JSON and a span attribute carry unchanged. */
export type PropValue = string | number | boolean;

/** True for a string, a finite number or a boolean. */
export function isPropValue(value: unknown): value is PropValue {
  const type = typeof value;
  return type === 'string' || type === 'boolean' || (type === 'number' && Number.isFinite(value));
}

/**
 * How many timing contexts deep a request's tree goes (below its root).
 * Contexts entered deeper are not added (the root's `contexts_dropped`
 * counts them); their leaves still balance their enters.
 */
export const MAX_TREE_DEPTH = 128;

/**
 * One named timing context in a request's tree. Entering the same name
 * twice under one parent lands in the same node, whose `total_time` sums
 * both, as in Kong.
 */
export class TimingNode {
  totalTime = 0;
  readonly props = new Map<string, unknown>();
  private children: Map<string, TimingNode> | undefined;

  constructor(
    readonly name: string,
    readonly parent: TimingNode | undefined,
  ) {}

  child(name: string): TimingNode {
    this.children ??= new Map();
    let node = this.children.get(name);
    if (node === undefined) {
      node = new TimingNode(name, this);
      this.children.set(name, node);
    }
    return node;
  }

  /** Kong's shape: `{ total_time, ...props, child: { name: {...} } }`, times in ms with 2 decimals. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const isRoot = this.parent === undefined;
    if (!isRoot) out.total_time = Math.round(this.totalTime * 100) / 100;
    // The root reads best with its tree first, a node with its own figures first.
    if (isRoot) this.writeChildren(out);
    for (const [key, value] of this.props) out[key] = value;
    if (!isRoot) this.writeChildren(out);
    return out;
  }

  private writeChildren(out: Record<string, unknown>): void {
    if (this.children === undefined) return;
    const child: Record<string, unknown> = {};
    for (const [name, node] of this.children) child[name] = node.toJSON();
    out.child = child;
  }
}

/**
 * One entry into a timing node: its start, its span, and the instance it
 * was entered under. Concurrent operations of one request each hold their
 * own instance, so they nest under the right parent whatever the order in
 * which Node interleaves them.
 */
export class TimingInstance {
  open = true;
  /**
   * Closed before its own leave (the response started, or an output closed
   * it as dangling): that leave, when it comes, only pops it.
   */
  closedEarly = false;
  /** How many ancestors it has (the root has none). */
  readonly depth: number;

  constructor(
    readonly node: TimingNode,
    readonly parent: TimingInstance | undefined,
    readonly start: number,
    /** Order of entry within the request: the later of two candidates is the innermost. */
    readonly seq: number,
    readonly span: Span | undefined,
    /** The debugged request it belongs to (contexts can travel between requests through pools). */
    readonly owner: object,
  ) {
    this.depth = parent === undefined ? 0 : parent.depth + 1;
  }
}
