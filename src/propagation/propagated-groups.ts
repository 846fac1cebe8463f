import { createContextKey, type Context } from '@opentelemetry/api';
import { hasHeaderContaining } from '../server/raw-headers';

/** Prefix of every baggage entry the propagator writes. */
export const ENTRY_PREFIX = 'dynamic-hooks.';
/** The enabled groups: their names, each percent-encoded, joined by commas (then percent-encoded as a baggage value). */
export const GROUPS_ENTRY = 'dynamic-hooks.groups';
/** Present (`1`) when the caller's request also writes its timing tree to the log. */
export const LOG_ENTRY = 'dynamic-hooks.log';
/** `<issued at, unix seconds>.<base64url HMAC-SHA256>` over the trace id, groups, log flag and issue time. */
export const SIG_ENTRY = 'dynamic-hooks.sig';

/** Groups a caller enabled on its request, received with a valid signature. */
export interface PropagatedGroups {
  /** The trace the signature is bound to (the carrier's trace). */
  readonly traceId: string;
  /** Group names, in the caller's order. */
  readonly groups: readonly string[];
  /** The caller's request writes its timing tree to the log, so this one should too. */
  readonly log: boolean;
}

const PROPAGATED_GROUPS_KEY = createContextKey('dynamic-hooks propagated groups');

/** The verified groups that `SignedGroupsPropagator.extract` put in `ctx`, if any. */
export function propagatedGroupsOf(ctx: Context): PropagatedGroups | undefined {
  return ctx.getValue(PROPAGATED_GROUPS_KEY) as PropagatedGroups | undefined;
}

/** `ctx` carrying `groups` (or carrying none, with `undefined`). */
export function withPropagatedGroups(ctx: Context, groups: PropagatedGroups | undefined): Context {
  if (groups !== undefined) return ctx.setValue(PROPAGATED_GROUPS_KEY, groups);
  return ctx.getValue(PROPAGATED_GROUPS_KEY) === undefined ? ctx : ctx.deleteValue(PROPAGATED_GROUPS_KEY);
}

/**
 * The server integration's cheap test, on the raw headers (no allocation):
 * could this request carry signed groups? Only then does it extract them.
 */
export function mayCarrySignedGroups(rawHeaders: readonly string[]): boolean {
  return hasHeaderContaining(rawHeaders, 'baggage', SIG_ENTRY);
}
