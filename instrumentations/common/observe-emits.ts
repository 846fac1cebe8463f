import type { EventEmitter } from 'node:events';
import { reportHandlerFailure, TIMING_GROUP } from '../../src/instrumentation-api';

/**
 * Shows `observer` every event `emitter` emits, before its listeners run,
 * without adding a listener: a listener would change behaviour (an
 * `'error'` listener swallows errors that would otherwise throw; a
 * `'response'` listener stops Node from discarding an unread response).
 * Used only on objects created during a debugged request.
 */
export function observeEmits(
  emitter: EventEmitter,
  name: string,
  observer: (event: string | symbol, args: readonly unknown[]) => void,
): void {
  const emit = emitter.emit;
  emitter.emit = function (this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
    try {
      observer(event, args);
    } catch (error) {
      reportHandlerFailure(TIMING_GROUP, `${name}:${String(event)}`, error);
    }
    return emit.call(this, event, ...args);
  };
}
