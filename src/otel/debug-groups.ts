import { allGroups } from '../core/group-state';
import { activeRequestScope, enableInScope } from '../core/request-scope';
import { describe } from '../core/validate';
import { OTEL_GROUP_PREFIX } from './group-names';

/**
 * Which dormant OpenTelemetry groups a debug request enables: `'all'`
 * (every `otel:*` group, the default), `'none'`, or a list of groups
 * (`'otel:pg'`) or instrumentation names (`'pg'`, the same group).
 */
export type DebugOtelGroups = 'all' | 'none' | readonly string[];

/** The choice, checked (TypeError naming `option`), as {@link enableDebugOtelGroups} takes it. */
export function resolveDebugOtelGroups(value: unknown, option = 'otelGroups'): 'all' | 'none' | ReadonlySet<string> {
  if (value === undefined || value === 'all') return 'all';
  if (value === 'none') return 'none';
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string' || name === '')) {
    throw new TypeError(
      `${option} must be 'all', 'none' or an array of group or instrumentation names, got ${describe(value)}`,
    );
  }
  return new Set(
    (value as string[]).map((name) => (name.startsWith(OTEL_GROUP_PREFIX) ? name : OTEL_GROUP_PREFIX + name)),
  );
}

/**
 * Enables on the current request the `otel:*` groups `choice` names
 * (resolved by {@link resolveDebugOtelGroups}), among those the process
 * knows (not the ones only a calling service's propagated groups named).
 * Called when a request becomes a debug request; does nothing outside a
 * request scope.
 */
export function enableDebugOtelGroups(choice: 'all' | 'none' | ReadonlySet<string>): void {
  if (choice === 'none') return;
  const scope = activeRequestScope();
  if (scope === undefined) return;
  for (const state of allGroups()) {
    if (state.transient || !state.name.startsWith(OTEL_GROUP_PREFIX)) continue;
    if (choice === 'all' || choice.has(state.name)) enableInScope(scope, state);
  }
}
