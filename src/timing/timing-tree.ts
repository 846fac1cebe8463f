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
   * `JSON.stringify(this.toJSON())`, written straight from the tree: no
   * object per node on the way, and one string that grows by appends
   * rather than a string per node concatenated into its parent's (an
   * output of thousands of contexts is built once per request, sometimes
   * twice: this way costs about a tenth less time and a sixth less garbage).
   */
  toJSONString(): string {
    return this.appendJSON('');
  }

  /** `out` followed by `toJSONString()`. */
  appendJSON(out: string): string {
    if (this.props !== undefined && !plainKeys(this.props.keys())) return out + this.toJSONStringInObjectOrder();
    const isRoot = this.parent === undefined;
    let first = isRoot;
    if (isRoot) {
      out += '{';
      if (this.children !== undefined) {
        out += '"child":';
        out = appendChildrenJSON(out, this.children);
        first = false;
      }
    } else {
      out += '{"total_time":';
      out += timeJSON(this.totalTime);
    }
    if (this.props !== undefined) {
      for (const [key, value] of this.props) {
        const json = valueJSON(value);
        // A value JSON leaves out (none a prop holds) is left out as an object property is.
        if (json === undefined) continue;
        if (!first) out += ',';
        out += quote(key);
        out += ':';
        out += json;
        first = false;
      }
    }
    if (!isRoot && this.children !== undefined) {
      out += ',"child":';
      out = appendChildrenJSON(out, this.children);
    }
    return out + '}';
  }

  /** `toJSONString` for props a plain object would reorder or merge (see `plainKeys`): as `toJSON` assigns them. */
  private toJSONStringInObjectOrder(): string {
    const fields = new Map<string, string | undefined>();
    const isRoot = this.parent === undefined;
    if (!isRoot) fields.set('total_time', timeJSON(this.totalTime));
    if (isRoot && this.children !== undefined) fields.set('child', childrenJSON(this.children));
    for (const [key, value] of this.props ?? []) fields.set(key, JSON.stringify(value));
    if (!isRoot && this.children !== undefined) fields.set('child', childrenJSON(this.children));
    let out = '{';
    for (const key of objectKeyOrder(fields.keys())) {
      const json = fields.get(key);
      if (json !== undefined) out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${json}`;
    }
    return `${out}}`;
  }
}

function childrenJSON(children: Map<string, TimingNode>): string {
  return appendChildrenJSON('', children);
}

/** `out` followed by `children` as a JSON object, their names in the order a plain object lists them. */
function appendChildrenJSON(out: string, children: Map<string, TimingNode>): string {
  for (const name of children.keys()) {
    // A name a plain object would list elsewhere: all written in that order instead.
    if (!isPlainKey(name)) {
      return appendNodesJSON(
        out,
        objectKeyOrder(children.keys()).map((key) => children.get(key) as TimingNode),
      );
    }
  }
  return appendNodesJSON(out, children.values());
}

/** `out` followed by `nodes`, in that order, as a JSON object. */
function appendNodesJSON(out: string, nodes: Iterable<TimingNode>): string {
  let separator = '{';
  for (const node of nodes) {
    out += separator;
    out += quote(node.name);
    out += ':';
    out = node.appendJSON(out);
    separator = ',';
  }
  return separator === '{' ? `${out}{}` : `${out}}`;
}

/** `JSON.stringify(value)`, without the call for a prop's usual values. */
function valueJSON(value: unknown): string | undefined {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return JSON.stringify(value);
}

/** `JSON.stringify(name)`, without the call for a name with nothing to escape (most are). */
function quote(name: string): string {
  return needsEscape(name) ? JSON.stringify(name) : `"${name}"`;
}

/**
 * Whether `JSON.stringify` would escape anything in `text`: a quote, a
 * backslash, a control character or a (lone) surrogate. A loop rather
 * than a regular expression: names are short, and the call into the
 * regular expression engine cost more than the scan.
 */
function needsEscape(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/**
 * `String(Math.round(ms * 100) / 100)`: a time as the output writes it,
 * two decimals at most, from the integer hundredths for the times a
 * request has (faster than converting the fractional number).
 */
function timeJSON(ms: number): string {
  const hundredths = Math.round(ms * 100);
  if (!(hundredths > 0 && hundredths < 1e15)) return String(hundredths / 100);
  const whole = Math.floor(hundredths / 100);
  const fraction = hundredths - whole * 100;
  if (fraction === 0) return String(whole);
  if (fraction % 10 === 0) return `${whole}.${fraction / 10}`;
  return `${whole}.${fraction < 10 ? '0' : ''}${fraction}`;
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
