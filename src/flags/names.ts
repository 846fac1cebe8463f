/** Flag keys that map to groups: `dynamic-hooks.<group>` (e.g. `dynamic-hooks.timing`). */
export const FLAG_KEY_PREFIX = 'dynamic-hooks.';

export { FLAG_RULES_GROUP, FLAG_RULES_HOOK } from '../names/hooks';

/** The group of a flag key, or `undefined` if the flag maps to no group. */
export function groupOfFlag(key: string): string | undefined {
  if (!key.startsWith(FLAG_KEY_PREFIX) || key.length === FLAG_KEY_PREFIX.length) return undefined;
  return key.slice(FLAG_KEY_PREFIX.length);
}
