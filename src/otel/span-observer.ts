import { trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { activeContext, withContext } from '../core/context-manager';

/**
 * Told about every span a dormant instrumentation starts: `started` returns
 * what to call when that span ends (with the span), or `undefined` to
 * ignore it. The timing module installs one to put the spans of debugged
 * requests into their timing tree.
 */
export interface SpanObserver {
  started(span: Span, name: string, parent: Context): ((span: Span) => void) | undefined;
}

let observer: SpanObserver | undefined;

/** Installs (or with `undefined` removes) the one observer of dormant instrumentations' spans. */
export function observeDormantSpans(next: SpanObserver | undefined): void {
  observer = next;
}

const observed = new WeakMap<Tracer, Tracer>();

/**
 * `tracer`, with every span it starts shown to the observer: what a
 * dormant instrumentation's `tracer` returns. Starting a span costs the
 * observer's check on top (the spans only exist while the group is on).
 */
export function observedTracer(tracer: Tracer): Tracer {
  let wrapper = observed.get(tracer);
  if (wrapper === undefined) {
    wrapper = new ObservedTracer(tracer);
    observed.set(tracer, wrapper);
  }
  return wrapper;
}

class ObservedTracer implements Tracer {
  constructor(private readonly tracer: Tracer) {}

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    const span = this.tracer.startSpan(name, options, ctx);
    const watching = observer;
    if (watching === undefined) return span;
    const parent = options?.root === true ? activeContext() : (ctx ?? activeContext());
    const ended = watching.started(span, name, parent);
    if (ended !== undefined) watchEnd(span, ended);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]
  ): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
    const parent = rest.length > 2 ? (rest[1] as Context) : activeContext();
    const span = this.startSpan(name, options, parent);
    return withContext(trace.setSpan(parent, span), () => fn(span) as ReturnType<F>);
  }
}

/** Calls `ended` once, after the span's own `end()` (so its duration is known). */
function watchEnd(span: Span, ended: (span: Span) => void): void {
  const end = span.end;
  let done = false;
  span.end = function (this: Span, ...args: Parameters<Span['end']>): void {
    end.apply(this, args);
    if (done) return;
    done = true;
    ended(span);
  };
}
