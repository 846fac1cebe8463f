/** What the exit handling needs from the started telemetry. */
export interface Flushable {
  /** Exports pending spans; the SDK keeps running. */
  forceFlush(): Promise<void>;
  /** Exports pending spans and stops the SDK; safe to call more than once. */
  shutdown(): Promise<void>;
}

/** The signals whose default action (terminating the process) would lose pending spans. */
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** How long a signal's termination waits for the export at most. */
export const SIGNAL_FLUSH_TIMEOUT_MS = 5_000;

/**
 * Flushes the telemetry when the process ends, without changing how it ends:
 *
 * - `beforeExit` (the event loop ran dry): shuts the SDK down; the export
 *   keeps the loop alive until it is done, then the process exits as it
 *   would have, with its exit code.
 * - `SIGTERM` / `SIGINT` that nobody else listens to: the default action is
 *   to terminate, so the SDK is shut down (at most
 *   {@link SIGNAL_FLUSH_TIMEOUT_MS}), then the signal is raised again with no
 *   listener left, and the process dies of it as it would have. A second
 *   signal meanwhile terminates at once.
 * - a signal the application handles itself: its handler decides what
 *   happens (it may keep serving while it drains), so pending spans are only
 *   flushed and the SDK keeps running; `beforeExit` shuts it down later. An
 *   application that calls `process.exit()` from its handler should first
 *   await `shutdown()` from `dynamic-hooks/register`.
 */
export function flushAtExit(telemetry: Flushable): void {
  process.once('beforeExit', () => {
    void telemetry.shutdown();
  });
  for (const signal of SIGNALS) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) {
        void telemetry.forceFlush();
        return;
      }
      process.removeListener(signal, onSignal);
      void withTimeout(telemetry.shutdown(), SIGNAL_FLUSH_TIMEOUT_MS).then(() => {
        process.kill(process.pid, signal);
      });
    };
    process.on(signal, onSignal);
  }
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.catch(() => undefined), timeout]).finally(() => {
    clearTimeout(timer);
  });
}
