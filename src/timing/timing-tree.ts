import type { Span } from '@opentelemetry/api';
import { JsonBuffer } from './json-buffer';

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
  'spans_dropped',
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
  /** Created on the first prop: most contexts have none. */
  private props: Map<string, unknown> | undefined = undefined;
  private children: Map<string, TimingNode> | undefined = undefined;

  constructor(
    readonly name: string,
    readonly parent: TimingNode | undefined,
  ) {}

  /** The child named `name`, if entered before. */
  findChild(name: string): TimingNode | undefined {
    return this.children?.get(name);
  }

  /** Adds a child named `name` (not there yet: see `findChild`). */
  addChild(name: string): TimingNode {
    const node = new TimingNode(name, this);
    (this.children ??= new Map()).set(name, node);
    return node;
  }

  child(name: string): TimingNode {
    return this.findChild(name) ?? this.addChild(name);
  }

  setProp(key: string, value: unknown): void {
    (this.props ??= new Map()).set(key, value);
  }

  getProp(key: string): unknown {
    return this.props?.get(key);
  }

  /** Kong's shape: `{ total_time, ...props, child: { name: {...} } }`, times in ms with 2 decimals. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const isRoot = this.parent === undefined;
    if (!isRoot) out.total_time = Math.round(this.totalTime * 100) / 100;
    // The root reads best with its tree first, a node with its own figures first.
    if (isRoot) this.writeChildren(out);
    if (this.props !== undefined) for (const [key, value] of this.props) out[key] = value;
    if (!isRoot) this.writeChildren(out);
    return out;
  }

  private writeChildren(out: Record<string, unknown>): void {
    if (this.children === undefined) return;
    const child: Record<string, unknown> = {};
    for (const [name, node] of this.children) child[name] = node.toJSON();
    out.child = child;
  }

  /**
   * `JSON.stringify(this.toJSON())`, written straight from the tree into
   * one buffer (see `JsonBuffer`): no object per node on the way, and no
   * string per piece.
   */
  toJSONString(): string {
    const out = output.clear();
    this.writeJSON(out);
    return out.take();
  }

  /** Writes `JSON.stringify(this.toJSON())` to `out`. */
  writeJSON(out: JsonBuffer): void {
    if (this.props !== undefined && !plainKeys(this.props.keys())) {
      this.writeJSONInObjectOrder(out);
      return;
    }
    const isRoot = this.parent === undefined;
    let first = isRoot;
    if (isRoot) {
      out.char(OPEN);
      if (this.children !== undefined) {
        out.ascii('"child":');
        writeChildren(out, this.children);
        first = false;
      }
    } else {
      out.ascii('{"total_time":');
      out.time(this.totalTime);
    }
    if (this.props !== undefined) {
      for (const [key, value] of this.props) {
        // A value JSON leaves out (none a prop holds) is left out as an object property is.
        if (!isWritten(value)) continue;
        if (!first) out.char(COMMA);
        out.string(key);
        out.char(COLON);
        writeValue(out, value);
        first = false;
      }
    }
    if (!isRoot && this.children !== undefined) {
      out.ascii(',"child":');
      writeChildren(out, this.children);
    }
    out.char(CLOSE);
  }

  /** `writeJSON` for props a plain object would reorder or merge (see `plainKeys`): as `toJSON` assigns them. */
  private writeJSONInObjectOrder(out: JsonBuffer): void {
    // The fields in the order toJSON assigns them (a Map keeps a key's first place, as an object does).
    const fields = new Map<string, unknown>();
    const isRoot = this.parent === undefined;
    if (!isRoot) fields.set('total_time', TIME);
    if (isRoot && this.children !== undefined) fields.set('child', this.children);
    for (const [key, value] of this.props ?? []) fields.set(key, value);
    if (!isRoot && this.children !== undefined) fields.set('child', this.children);
    let first = true;
    out.char(OPEN);
    for (const key of objectKeyOrder(fields.keys())) {
      const value = fields.get(key);
      if (value !== TIME && !isWritten(value)) continue;
      if (!first) out.char(COMMA);
      out.string(key);
      out.char(COLON);
      if (value === TIME) out.time(this.totalTime);
      else if (value === this.children) writeChildren(out, this.children as Map<string, TimingNode>);
      else writeValue(out, value);
      first = false;
    }
    out.char(CLOSE);
  }
}

/** The buffer every output is written in, one at a time (writing runs no code of the application's). */
const output = new JsonBuffer();

/** Stands for the node's `total_time` among the fields of `writeJSONInObjectOrder`. */
const TIME = Symbol('total_time');

const OPEN = 0x7b;
const CLOSE = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Writes `children` as a JSON object, their names in the order a plain object lists them. */
function writeChildren(out: JsonBuffer, children: Map<string, TimingNode>): void {
  const start = out.mark;
  let separator = OPEN;
  // Values, not entries: an entry is a new array per child.
  for (const node of children.values()) {
    const name = node.name;
    // A name a plain object would list elsewhere: all of them again, in that order.
    if (!isPlainKey(name)) {
      out.rewind(start);
      writeNodes(
        out,
        objectKeyOrder(children.keys()).map((key) => children.get(key) as TimingNode),
      );
      return;
    }
    out.char(separator);
    out.string(name);
    out.char(COLON);
    node.writeJSON(out);
    separator = COMMA;
  }
  if (separator === OPEN) out.char(OPEN);
  out.char(CLOSE);
}

/** Writes `nodes`, in that order, as a JSON object. */
function writeNodes(out: JsonBuffer, nodes: readonly TimingNode[]): void {
  out.char(OPEN);
  for (const [i, node] of nodes.entries()) {
    if (i > 0) out.char(COMMA);
    out.string(node.name);
    out.char(COLON);
    node.writeJSON(out);
  }
  out.char(CLOSE);
}

/** Whether `JSON.stringify` writes a property holding `value` (not for undefined, a function or a symbol). */
function isWritten(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/** Writes `JSON.stringify(value)`, without the call for a prop's usual values. */
function writeValue(out: JsonBuffer, value: unknown): void {
  if (typeof value === 'string') out.string(value);
  else if (typeof value === 'boolean') out.ascii(value ? 'true' : 'false');
  else out.json(JSON.stringify(value));
}

/**
 * Whether a plain object given `keys` in this order lists them in the same
 * order, each once: no array index (listed first), no `__proto__` (not an
 * own property), none of the fields `toJSON` writes itself.
 */
function plainKeys(keys: Iterable<string>): boolean {
  for (const key of keys) if (!isPlainKey(key)) return false;
  return true;
}

function isPlainKey(key: string): boolean {
  return !(isArrayIndex(key) || key === '__proto__' || key === 'total_time' || key === 'child');
}

/**
 * `keys` (distinct, in insertion order) in the order a plain object lists
 * them: array indices first, ascending, then the others as inserted;
 * `__proto__` is not an own property there, so not listed.
 */
function objectKeyOrder(keys: Iterable<string>): string[] {
  const all = [...keys].filter((key) => key !== '__proto__');
  const indices = all.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...all.filter((key) => !isArrayIndex(key))];
}

/** A canonical array index ("0" to "4294967294"): a plain object lists those first. */
function isArrayIndex(key: string): boolean {
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  return ARRAY_INDEX.test(key) && Number(key) < 4294967295;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]{0,9})$/;

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
