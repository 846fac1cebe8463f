import { setTimeout as sleep } from 'node:timers/promises';
import { listGroups } from '../../src';

/**
 * Waits until no request scope enables any group: scopes a test opened
 * with `withRequestScope` and never ended are released when collected, so
 * this collects garbage (mocha runs with `--expose-gc`) until the
 * finalizers have run. Fails after `attempts` rounds.
 */
export async function releaseRequestScopes(attempts = 50): Promise<void> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('releaseRequestScopes needs node --expose-gc');
  for (let i = 0; i < attempts; i++) {
    if (listGroups().every((group) => group.enabledScopes === 0)) return;
    collect();
    await sleep(10);
  }
  const held = listGroups().filter((group) => group.enabledScopes > 0);
  throw new Error(`request scopes still enable ${held.map((g) => `${g.name} (${g.enabledScopes})`).join(', ')}`);
}
