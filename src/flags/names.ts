/** Flag keys that map to groups: `dynamic-hooks.<group>` (e.g. `dynamic-hooks.timing`). */
export const FLAG_KEY_PREFIX = 'dynamic-hooks.';

/**
 * The group and hook the server integration runs for every request, after
 * `timing:auth`, in the request's scope: the flag rules' per-request
 * evaluation. The group is always enabled only while some flag needs a
 * per-request evaluation, so otherwise no request pays for it.
 */
export const FLAG_RULES_GROUP = 'flags:rules';
export const FLAG_RULES_HOOK = 'evaluate';

/** The group of a flag key, or `undefined` if the flag maps to no group. */
export function groupOfFlag(key: string): string | undefined {
  if (!key.startsWith(FLAG_KEY_PREFIX) || key.length === FLAG_KEY_PREFIX.length) return undefined;
  return key.slice(FLAG_KEY_PREFIX.length);
}
