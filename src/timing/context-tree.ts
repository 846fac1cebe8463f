import {
  createContextKey,
  diag,
  isSpanContextValid,
  type Attributes,
  type Context,
  type SpanKind,
} from '@opentelemetry/api';
import { currentCallFrame } from '../core/call-frame';
import { now } from './clock';
import type { RequestSpans } from './request-spans';
import { setSpanAttribute } from './span-attributes';
import { MAX_TREE_DEPTH, TimingInstance, TimingNode, type PropValue } from './timing-tree';
import { activeContext } from '../core/context-manager';

/** The context timing calls act in: the running hooked call's, else the active one. */
export function handlerContext(): Context {
  return currentCallFrame()?.context ?? activeContext();
}

const INSTANCE_KEY = createContextKey('dynamic-hooks timing context');
/**
 * In a hooked call's context, in place of a timing context: an enter that
 * went over the depth limit, over what was there before (its leave
 * restores that).
 */
class DroppedEntry {
  constructor(
    readonly previous: unknown,
    readonly owner: object,
  ) {}
}
/** On the phase stack: an enter that went over the depth limit (its leave pops it and closes nothing). */
const DROPPED = Symbol('dynamic-hooks dropped timing context');

/**
 * The timing contexts of one debugged request, as Kong's
 * `kong/timing/context.lua`: the tree of named nodes, the contexts open in
 * it, and the current one. Each context opened is a span too (through
 * `RequestSpans`); the tree is what the outputs print.
 *
 * Two kinds of entries meet here: phases, entered and left in sequence
 * by the request's own code (a stack, as in Kong), and operations, entered
 * and left by the before and after handlers of one hooked call (kept in
 * that call's OpenTelemetry context, so concurrent operations nest under
 * the right parent). The current timing context is whichever open one of
 * the two was entered last.
 */
export class ContextTree {
  readonly root = new TimingNode('', undefined);
  private started: TimingInstance | undefined;
  private readonly stack: (TimingInstance | typeof DROPPED)[] = [];
  /**
   * The contexts opened, in order, that may still be open: a closed one
   * leaves once none opened after it is still on the list (contexts
   * mostly close in reverse order), so the list stays short.
   */
  private readonly opened: TimingInstance[] = [];
  /**
   * A lower bound on the length of the tree's JSON (its nodes' names and
   * times alone): a header output over its limit by this much is not
   * serialised only to be replaced by a pointer to the log.
   */
  minOutputLength = 0;
  /** How many contexts are open (the root not counted). */
  private openCount = 0;
  private seq = 0;
  /** Contexts not added because they were deeper than `MAX_TREE_DEPTH`. */
  private dropped = 0;
  /**
   * The context `current` last read, and its timing context entry: code
   * entering contexts in a loop asks the same (immutable) context each time.
   */
  private valueContext: Context | undefined = undefined;
  private contextValue: unknown = undefined;

  constructor(
    private readonly requestId: string,
    private readonly spans: RequestSpans,
    /** Where the root span starts if nothing started it first. */
    private readonly defaultParent: Context,
  ) {
    this.root.setProp('request_id', requestId);
  }

  /**
   * Starts the root context and its span (once; later calls return the
   * same root) in `active` (see `RequestSpans.startRoot`).
   */
  start(active: Context): TimingInstance {
    if (this.started !== undefined) return this.started;
    const at = now();
    const span = this.spans.startRoot(active, at);
    this.started = new TimingInstance(this.root, undefined, at, 0, span, this);
    // No trace id without a tracer provider (the spans are then no-ops).
    if (isSpanContextValid(span.spanContext())) this.root.setProp('trace_id', span.spanContext().traceId);
    return this.started;
  }

  /** The root timing context (started where the request began if nothing started it yet). */
  get rootInstance(): TimingInstance {
    return this.started ?? this.start(this.defaultParent);
  }

  /** Enters timing context `name` under the current one (`ctx`: the handler context, if known). */
  enter(name: string, ctx: Context = handlerContext()): void {
    const frame = currentCallFrame();
    const parent = this.current(ctx);
    if (!this.mayOpenUnder(parent, 1)) {
      if (frame !== undefined) {
        const previous = frame.context.getValue(INSTANCE_KEY);
        frame.context = frame.context.setValue(INSTANCE_KEY, new DroppedEntry(previous, this));
      } else this.stack.push(DROPPED);
      return;
    }
    const instance = this.openInstance(parent, name, undefined, now(), undefined, ctx);
    if (frame !== undefined) frame.context = frame.context.setValue(INSTANCE_KEY, instance);
    // An indexed store, not push(): optimised code here called the push builtin (~110 instructions) each time.
    else this.stack[this.stack.length] = instance;
  }
  /**
   * Whether `count` more contexts fit under `parent` within the depth
   * limit; counts (on the root's `contexts_dropped`) those that do not.
   */
  mayOpenUnder(parent: TimingInstance, count: number): boolean {
    const over = parent.depth + count - MAX_TREE_DEPTH;
    if (over <= 0) return true;
    if (this.dropped === 0) {
      diag.debug(`dynamic-hooks timing: contexts deeper than ${MAX_TREE_DEPTH} dropped in request ${this.requestId}`);
    }
    this.dropped += Math.min(over, count);
    this.root.setProp('contexts_dropped', this.dropped);
    return false;
  }
  /**
   * Says on the root (`spans_dropped`) how many spans the request did not
   * record over its budget (see `RequestSpans.take`), once some were not.
   */
  countDroppedSpans(): void {
    const dropped = this.spans.dropped;
    if (dropped === 0) return;
    if (dropped === 1) diag.debug(`dynamic-hooks timing: span budget spent in request ${this.requestId}`);
    this.root.setProp('spans_dropped', dropped);
  }
  /**
   * Adds contexts measured elsewhere, `path` from the root down, each from
   * `start` to `end` (monotonic milliseconds, `performance.now()`): Kong's
   * `upstream` timings, which a proxy knows only after the fact.
   */
  record(path: readonly string[], start: number, end: number): void {
    // On the output's 0.01 ms grid, so that recorded parts add up exactly.
    start = Math.round(start * 100) / 100;
    end = Math.round(end * 100) / 100;
    let parent = this.rootInstance;
    const opened: TimingInstance[] = [];
    this.mayOpenUnder(parent, path.length);
    for (const name of path.slice(0, MAX_TREE_DEPTH)) {
      parent = this.openInstance(parent, name, undefined, start);
      opened.push(parent);
    }
    for (let i = opened.length - 1; i >= 0; i--) this.close(opened[i], end, false);
  }
  /** Opens one timing context under `parent`, with its span. */
  openInstance(
    parent: TimingInstance,
    name: string,
    attributes: Attributes | undefined,
    start = now(),
    kind?: SpanKind,
    ctx: Context = handlerContext(),
  ): TimingInstance {
    const span = this.spans.startChild(parent.span, name, start, attributes, kind, ctx);
    if (span === undefined) this.countDroppedSpans();
    let node = parent.node.findChild(name);
    if (node === undefined) {
      node = parent.node.addChild(name);
      // `"name":{"total_time":0}` at least, in the output.
      this.minOutputLength += name.length + 18;
    }
    const instance = new TimingInstance(node, parent, start, ++this.seq, span, this);
    this.opened[this.opened.length] = instance; // as in enter()
    this.openCount++;
    return instance;
  }

  /** Leaves the current timing context (in a hooked call: the one that call entered last). */
  leave(): void {
    const frame = currentCallFrame();
    if (frame !== undefined) {
      const value = frame.context.getValue(INSTANCE_KEY);
      if (value instanceof DroppedEntry && value.owner === this) {
        frame.context = frame.context.setValue(INSTANCE_KEY, value.previous);
        return;
      }
      const entered = this.own(value);
      if (entered !== undefined && entered !== this.rootInstance) {
        this.close(entered, now(), false);
        frame.context = frame.context.setValue(INSTANCE_KEY, entered.parent);
        return;
      }
    }
    while (this.stack.length > 0) {
      const top = this.stack.pop() as TimingInstance | typeof DROPPED;
      if (top === DROPPED) return;
      if (top.open) {
        this.close(top, now(), false);
        return;
      }
      if (top.closedEarly) return; // closed by the response start or an output; this leave is its own
    }
    diag.debug(`dynamic-hooks timing: leaveContext() without a matching enterContext() in request ${this.requestId}`);
  }
  /**
   * Leaves phase context `name` (its `after:` hook): the innermost entry of
   * that name on the phase stack, closing what the request's code left
   * open inside it first (those end with their phase, not dangling; their
   * own leaves, when they come, pop them). A plain leave if no such entry
   * is there (inside a hooked call, or entered over the depth limit).
   */
  leavePhase(name: string): void {
    if (currentCallFrame() === undefined) {
      for (let i = this.stack.length - 1; i >= 0; i--) {
        const entry = this.stack[i];
        if (entry === DROPPED || entry.node.name !== name || !(entry.open || entry.closedEarly)) continue;
        const at = now();
        for (let j = this.stack.length - 1; j > i; j--) this.closeEarly(this.stack[j], at);
        this.close(entry, at, false);
        this.stack.splice(i, 1);
        return;
      }
    }
    this.leave();
  }
  setProp(key: string, value: PropValue): void {
    const instance = this.current();
    instance.node.setProp(key, value);
    setSpanAttribute(instance.span, key, value);
  }
  setRootProp(key: string, value: PropValue): void {
    this.root.setProp(key, value);
    setSpanAttribute(this.rootInstance.span, key, value);
  }
  getProp(key: string): unknown {
    return this.current().node.getProp(key);
  }
  /**
   * The response starts: the phases the request's code entered and has not
   * left end now, as Kong ends `access` when a plugin exits the request, so
   * that the response phases (header_filter first) run at the top level and
   * the tree has nothing dangling. Their leaves, when they come, pop them.
   * Operations in flight (a hooked call's contexts) end with their call.
   */
  exitPhases(): void {
    const at = now();
    for (let i = this.stack.length - 1; i >= 0; i--) this.closeEarly(this.stack[i], at);
  }
  /** Closes a phase-stack entry before its own leave, which then only pops it. */
  private closeEarly(entry: TimingInstance | typeof DROPPED, at: number): void {
    if (entry === DROPPED || !entry.open) return;
    this.close(entry, at, false);
    entry.closedEarly = true;
  }
  /** Closes every context still open, marking them and the root `dangling`. */
  closeDangling(): void {
    if (this.openCount === 0) return;
    const at = now();
    for (const instance of [...this.opened].reverse()) this.close(instance, at, true);
    this.root.setProp('dangling', true);
    diag.debug(`dynamic-hooks timing: dangling timing context(s) in request ${this.requestId}`);
  }
  /** The innermost open timing context, where what starts now nests (OpenTelemetry spans, see `spans-in-tree.ts`). */
  currentInstance(): TimingInstance {
    return this.current();
  }
  /** The innermost open timing context: the latest entered of the call's and the phase stack's. */
  private current(ctx: Context = handlerContext()): TimingInstance {
    if (ctx !== this.valueContext) {
      this.valueContext = ctx;
      this.contextValue = ctx.getValue(INSTANCE_KEY);
    }
    let local = this.own(this.contextValue);
    while (local !== undefined && !local.open) local = local.parent;
    let top: TimingInstance | undefined;
    for (let i = this.stack.length - 1; i >= 0 && top === undefined; i--) {
      const entry = this.stack[i];
      if (entry !== DROPPED && entry.open) top = entry;
    }
    if (local === undefined) return top ?? this.rootInstance;
    if (top === undefined) return local;
    return top.seq > local.seq ? top : local;
  }
  private own(value: unknown): TimingInstance | undefined {
    while (value instanceof DroppedEntry) value = value.previous;
    return value instanceof TimingInstance && value.owner === this ? value : undefined;
  }
  /** Closes one open timing context, adding its duration to its node. */
  close(instance: TimingInstance, at: number, dangling: boolean): void {
    if (!instance.open) return;
    instance.open = false;
    this.openCount--;
    const opened = this.opened;
    while (opened.length > 0 && !opened[opened.length - 1].open) opened.pop();
    instance.node.totalTime += at - instance.start;
    if (dangling) {
      instance.closedEarly = true;
      instance.node.setProp('dangling', true);
    }
    this.spans.end(instance.span, at, dangling);
  }

  /**
   * Opens the operation contexts `names` under the current context, where
   * the innermost current contexts that already carry the leading names
   * are reused (so a TLS connection's TCP connect lands next to its
   * handshake, not inside it, and an operation inside the same operation
   * adds nothing). In a hooked call's before-handler, what the call does
   * next nests under the innermost one. `attributes` and `kind` go to the
   * innermost span only (they are not timing-tree props). Returns the
   * contexts opened, outermost first (maybe none, over the depth limit).
   */
  openChain(
    names: readonly string[],
    attributes: Attributes | undefined,
    kind?: SpanKind,
    ctx: Context = handlerContext(),
  ): TimingInstance[] {
    let parent = this.current(ctx);
    const reused = reusableDepth(parent, names);
    const opened: TimingInstance[] = [];
    // Over the depth limit, the operation opens what fits (maybe nothing).
    const fits = Math.min(names.length - reused, MAX_TREE_DEPTH - parent.depth);
    this.mayOpenUnder(parent, names.length - reused);
    for (let i = reused; i < reused + fits; i++) {
      const innermost = i === names.length - 1;
      parent = this.openInstance(
        parent,
        names[i],
        innermost ? attributes : undefined,
        now(),
        innermost ? kind : undefined,
        ctx,
      );
      opened.push(parent);
    }
    const frame = currentCallFrame();
    if (frame !== undefined && opened.length > 0) frame.context = frame.context.setValue(INSTANCE_KEY, parent);
    return opened;
  }

  /** Makes what the running hooked call does next nest under `instance` (see `DebugRequest.adoptCall`). */
  adopt(instance: TimingInstance): boolean {
    const frame = currentCallFrame();
    if (frame === undefined || !instance.open) return false;
    frame.context = frame.context.setValue(INSTANCE_KEY, instance);
    return true;
  }

  /** Kong's tree: the root's JSON, with what is still open closed as dangling first. */
  toJSON(): Record<string, unknown> {
    this.closeDangling();
    return this.root.toJSON();
  }
  /** `JSON.stringify(this.toJSON())`, written straight from the tree. */
  toJSONString(): string {
    this.closeDangling();
    return this.root.toJSONString();
  }
}

/** How many of `names`' leading entries the current chain (ending at `current`) already has open. */
function reusableDepth(current: TimingInstance, names: readonly string[]): number {
  // All of them: the same operation inside itself (a cache's timed lookup
  // calling the timed dns.lookup) is one context, not two nested ones.
  for (let k = Math.min(names.length, current.depth); k > 0; k--) {
    let instance: TimingInstance | undefined = current;
    let j = k - 1;
    while (j >= 0 && instance !== undefined && instance.open && instance.node.name === names[j]) {
      instance = instance.parent;
      j--;
    }
    if (j < 0) return k;
  }
  return 0;
}
