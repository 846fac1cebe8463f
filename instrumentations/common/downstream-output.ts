import { diag } from '@opentelemetry/api';
import type { TimingOperation } from '../../src/timing/timing-operation';

/**
 * Nests a called service's header output (`X-Request-Debug-Output`, a JSON
 * tree; the downstream service was debugged through `SignedGroupsPropagator`)
 * under the operation's `http_request` context. Returns whether it did.
 */
export function nestDownstreamOutput(operation: TimingOperation, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let tree: unknown;
  try {
    tree = JSON.parse(value);
  } catch {
    diag.debug('dynamic-hooks timing: a downstream output header that is not JSON was ignored');
    return false;
  }
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) return false;
  operation.nestDownstream(tree as Record<string, unknown>);
  return true;
}
