import type { Context } from '@opentelemetry/api';

/**
 * The OpenTelemetry context a hooked call's operation runs in, open while
 * its handlers run. A before-handler may replace `context` (the timing
 * module does, so that what the call does nests under the timing context
 * it entered); the original, the completion tracking and the after or
 * error handlers then run in the replaced context, while the caller keeps
 * its own.
 */
export interface CallFrame {
  context: Context;
  /** What the handlers of this one call pass each other (the timing module keeps the call's operation here). */
  state: unknown;
}

let current: CallFrame | undefined;

/** The frame of the hooked call whose handlers are running, if any. */
export function currentCallFrame(): CallFrame | undefined {
  return current;
}

/** Runs `fn` with `frame` as the current call frame. */
export function runInCallFrame<T>(frame: CallFrame, fn: () => T): T {
  const previous = current;
  current = frame;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
