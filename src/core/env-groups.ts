import { diag } from '@opentelemetry/api';
import { alwaysEnable } from './groups';

/** The environment variable whose comma-separated groups are enabled for every request at start. */
export const ENABLED_GROUPS_ENV = 'DYNAMIC_HOOKS_ENABLED_GROUPS';

/**
 * Enables, process-wide, the groups named in `DYNAMIC_HOOKS_ENABLED_GROUPS`
 * (e.g. `timing,my_group`); runs once when the library is loaded.
 */
export function enableGroupsFromEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  const value = env[ENABLED_GROUPS_ENV];
  if (value === undefined || value.trim() === '') return [];
  const groups = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const group of groups) alwaysEnable(group);
  diag.info(`dynamic-hooks: ${ENABLED_GROUPS_ENV} enabled ${groups.join(', ')} for every request`);
  return groups;
}
