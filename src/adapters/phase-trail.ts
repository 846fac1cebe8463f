import { type Context } from '@opentelemetry/api';
import { runHook } from '../core/named-hooks';
import { AFTER, BEFORE, PLUGIN, PLUGIN_ITERATOR, TIMING_GROUP, type Phase } from '../names/hooks';
import { activeContext, withContext } from '../core/context-manager';

/** Phases of the seed's hook table that the framework adapters enter and leave. */
export type AdapterPhase =
  Extract<Phase, 'rewrite' | 'access' | 'router' | 'header_filter'> | typeof PLUGIN_ITERATOR | typeof PLUGIN;

/** One phase an adapter entered (a token to leave it by). */
export interface PhaseEntry {
  readonly phase: AdapterPhase;
}

/**
 * What a framework adapter has entered for one debugged request, innermost
 * last. The timing module keeps a request's phases on one stack, so an
 * adapter must leave them in reverse order: leaving an entry first leaves
 * every entry above it. Each hook runs in the request's OpenTelemetry
 * context, captured when the trail was made, so a framework that calls
 * back from another async context (a pooled connection's callback) still
 * lands in this request. Created only for debugged requests.
 */
export class PhaseTrail {
  private readonly entries: PhaseEntry[] = [];

  constructor(private readonly requestContext: Context = activeContext()) {}

  /** Enters `phase` (a plugin with its name and id) and returns its entry. */
  enter(phase: AdapterPhase, name?: string, id?: string): PhaseEntry {
    const entry: PhaseEntry = { phase };
    this.entries.push(entry);
    withContext(this.requestContext, runHook, undefined, TIMING_GROUP, BEFORE[phase], name, id);
    return entry;
  }

  /** Leaves `entry` and whatever was entered after it; nothing if it was left already. */
  leave(entry: PhaseEntry): void {
    const at = this.entries.lastIndexOf(entry);
    if (at >= 0) this.leaveDownTo(at);
  }

  /** Leaves the innermost open `phase` and whatever is above it. */
  leavePhase(phase: AdapterPhase): void {
    const at = this.indexOf(phase);
    if (at >= 0) this.leaveDownTo(at);
  }

  /** Leaves every entry still open. */
  leaveAll(): void {
    if (this.entries.length > 0) this.leaveDownTo(0);
  }

  /** The innermost open entry's phase. */
  top(): AdapterPhase | undefined {
    return this.entries.at(-1)?.phase;
  }

  /** Whether `phase` is open. */
  has(phase: AdapterPhase): boolean {
    return this.indexOf(phase) >= 0;
  }

  private indexOf(phase: AdapterPhase): number {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i].phase === phase) return i;
    }
    return -1;
  }

  private leaveDownTo(index: number): void {
    while (this.entries.length > index) {
      const entry = this.entries.pop() as PhaseEntry;
      withContext(this.requestContext, runHook, undefined, TIMING_GROUP, AFTER[entry.phase]);
    }
  }
}
