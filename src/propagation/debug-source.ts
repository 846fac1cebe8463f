import type { RequestScope } from '../core/request-scope';

/**
 * What the propagator needs to know of request debugging. The timing
 * module gives it when a `TimingInstrumentation` activates: propagation
 * never imports timing (timing reads what propagation extracted).
 */
export interface RequestDebugSource {
  /** The token of the `TimingInstrumentation` last activated: what the propagator signs with by default. */
  readonly token: string | undefined;
  /** Whether the debugged request of `scope` writes its timing tree to the log. */
  logs(scope: RequestScope): boolean;
}

let source: RequestDebugSource | undefined;

/** Sets (or, with `undefined`, clears) what the propagator learns of request debugging. */
export function setRequestDebugSource(next: RequestDebugSource | undefined): void {
  source = next;
}

/** What the propagator knows of request debugging (nothing until a `TimingInstrumentation` activated). */
export function requestDebugSource(): RequestDebugSource | undefined {
  return source;
}
