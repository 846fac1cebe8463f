import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { now } from './clock';
import type { DebugRequest } from './debug-request';
import { MAX_DOWNSTREAM_BYTES } from './output';
import { setSpanAttribute } from './span-attributes';
import { isPropValue, type TimingInstance } from './timing-tree';

/**
 * A handle on contexts an instrumentation opened for one operation (a DNS
 * query, an HTTP request, a connection): it sets their props and ends them
 * when the operation completes, whichever async event that is.
 */
export class TimingOperation {
  private ended = false;

  constructor(
    private readonly debug: DebugRequest,
    private readonly instances: readonly TimingInstance[],
  ) {}

  private get innermost(): TimingInstance | undefined {
    return this.instances[this.instances.length - 1];
  }

  /** The innermost context's span: the operation's own, whose context a call to another service propagates. */
  get span(): Span | undefined {
    return this.ended ? undefined : this.innermost?.span;
  }

  /**
   * Makes the running hooked call nest under this operation's innermost
   * context, as if it had been made inside it: for work a library does on
   * the operation's behalf outside its call (the connection undici opens
   * for a fetch). False outside a hooked call of the same request, or
   * once the operation ended.
   */
  adoptCall(): boolean {
    const innermost = this.innermost;
    return !this.ended && innermost !== undefined && this.debug.adoptCall(innermost);
  }

  /** A timing-tree prop (and span attribute) on the operation's innermost context; other values are ignored. */
  setProp(key: string, value: unknown): void {
    const innermost = this.innermost;
    if (innermost === undefined || !isPropValue(value)) return;
    innermost.node.setProp(key, value);
    setSpanAttribute(innermost.span, key, value);
  }

  /** Span attributes on the innermost context (not in the timing tree). */
  setAttributes(attributes: Attributes): void {
    this.innermost?.span?.setAttributes(attributes);
  }

  /** The response header (lower case) in which a debugged service returns its tree, as configured here. */
  get outputHeader(): string {
    return this.debug.output.headerName.toLowerCase();
  }

  /**
   * Nests the timing tree a called service returned (its header output,
   * parsed) under the innermost context: appended to its prop `downstream`,
   * an array with one tree per response, since same-named contexts share a
   * node. Not a span attribute: that service exports its own spans.
   * `size` (the header's length) counts against the request's budget of
   * `MAX_DOWNSTREAM_BYTES`; over it, the tree is dropped with a note.
   */
  nestDownstream(tree: Record<string, unknown>, size: number): void {
    const innermost = this.innermost;
    if (innermost === undefined || this.debug.finished) return;
    if (!this.debug.takeDownstreamBytes(size)) {
      this.dropDownstream(`the request's downstream outputs are over ${MAX_DOWNSTREAM_BYTES} bytes`);
      return;
    }
    const list = innermost.node.getProp('downstream');
    if (Array.isArray(list)) list.push(tree);
    else innermost.node.setProp('downstream', [tree]);
  }

  /**
   * Notes on the innermost context (prop `downstream_dropped`) why a called
   * service's output was not nested.
   */
  dropDownstream(reason: string): void {
    const innermost = this.innermost;
    if (innermost === undefined || this.debug.finished) return;
    innermost.node.setProp('downstream_dropped', reason);
  }

  /** Starts a follow-up context under this operation's innermost one (a TLS handshake after the TCP connect). */
  child(name: string, attributes?: Attributes): TimingOperation | undefined {
    const innermost = this.innermost;
    if (innermost === undefined || this.ended || this.debug.finished) return undefined;
    if (!this.debug.contexts.mayOpenUnder(innermost, 1)) return undefined;
    return new TimingOperation(this.debug, [this.debug.contexts.openInstance(innermost, name, attributes)]);
  }

  /** Marks the innermost span failed without ending it (an HTTP error status): `error.type` is `type`. */
  markFailed(message: string, type: string): void {
    const span = this.innermost?.span;
    if (this.ended || span === undefined) return;
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    span.setAttribute('error.type', type);
  }

  /** Ends the operation's contexts, innermost first; with an error, marks their spans failed. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const at = now();
    for (let i = this.instances.length - 1; i >= 0; i--) {
      const instance = this.instances[i];
      if (error !== undefined && instance.open) markFailed(instance.span, error);
      this.debug.contexts.close(instance, at, false);
    }
  }
}

function markFailed(span: Span | undefined, error: unknown): void {
  if (span === undefined) return;
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  const code = (error as { code?: unknown } | null)?.code;
  span.setAttribute('error.type', typeof code === 'string' ? code : error instanceof Error ? error.name : 'error');
  if (error instanceof Error) span.recordException(error);
}
