import { EventEmitter } from 'node:events';

/** An event listener, as `EventEmitter` keeps it. */
export type Listener = (...args: unknown[]) => unknown;

/** Whether an emitter's `_events` entry is a listener or a list of them. */
export function isListeners(value: unknown): value is Listener | Listener[] {
  return typeof value === 'function' || (Array.isArray(value) && value.every((item) => typeof item === 'function'));
}

/**
 * Calls the listeners of `event` on `emitter` with `args`, as
 * `EventEmitter#emit` does, for a caller that stands in for them in the
 * emitter's `_events` (so `emit` calls the caller alone). Returns what
 * `emit` should see as that one listener's result: the first listener's
 * non-null result, which `emit` hands to its rejection capture
 * (`captureRejections`) as it would have. The later listeners' results,
 * which `emit` never sees, get the same capture here: without it, an async
 * listener's rejection that Node answers (`http.Server` with a 500) would
 * go unhandled and end the process.
 */
export function callListeners(
  emitter: EventEmitter,
  event: string,
  listeners: Listener | Listener[],
  args: ArrayLike<unknown>,
): unknown {
  if (typeof listeners === 'function') return Reflect.apply(listeners, emitter, args);
  let first: unknown;
  for (const listener of [...listeners]) {
    const result: unknown = Reflect.apply(listener, emitter, args);
    if (result === undefined || result === null) continue;
    if (first === undefined) first = result;
    else captureRejection(emitter, event, result, args);
  }
  return first;
}

/** What `EventEmitter#emit` does with a listener's result when the emitter captures rejections. */
function captureRejection(emitter: EventEmitter, event: string, result: unknown, args: ArrayLike<unknown>): void {
  if (!capturesRejections(emitter)) return;
  try {
    const then = (result as { then?: unknown }).then;
    if (typeof then !== 'function') return;
    Reflect.apply(then, result, [
      undefined,
      (error: unknown) => {
        process.nextTick(rejected, emitter, event, error, args);
      },
    ]);
  } catch (error) {
    emitter.emit('error', error);
  }
}

function rejected(emitter: EventEmitter, event: string, error: unknown, args: ArrayLike<unknown>): void {
  const handler = (emitter as unknown as Record<symbol, unknown>)[EventEmitter.captureRejectionSymbol];
  if (typeof handler === 'function') Reflect.apply(handler, emitter, [error, event, ...Array.from(args)]);
  else emitter.emit('error', error);
}

/** Node's own slot for an emitter's `captureRejections` (`kCapture`), found by description once. */
let captureSlot: symbol | undefined;

function capturesRejections(emitter: EventEmitter): boolean {
  const own = emitter as unknown as Record<symbol, unknown>;
  if (captureSlot === undefined || !Object.hasOwn(own, captureSlot)) {
    captureSlot = Object.getOwnPropertySymbols(emitter).find((key) => key.description === 'kCapture');
    // A Node that does not say: as Node's default for new emitters.
    if (captureSlot === undefined) return EventEmitter.captureRejections;
  }
  return own[captureSlot] === true;
}
