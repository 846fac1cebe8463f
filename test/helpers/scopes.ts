import { setTimeout as sleep } from 'node:timers/promises';
import { listGroups } from '../../src';

/** Runs `rounds` full garbage collections, each followed by a pause in which FinalizationRegistry callbacks run. */
export async function collectGarbage(rounds = 3): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the tests with --expose-gc (see .mocharc.json)');
  for (let i = 0; i < rounds; i++) {
    gc();
    await sleep(10);
  }
}

/**
 * Waits until no request scope enables any group: scopes a test opened
 * with `withRequestScope` and never ended are released when collected, so
 * this collects garbage until the finalizers have run. Fails after
 * `attempts` rounds.
 */
export async function releaseRequestScopes(attempts = 50): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (listGroups().every((group) => group.enabledScopes === 0)) return;
    await collectGarbage(1);
  }
  const held = listGroups().filter((group) => group.enabledScopes > 0);
  throw new Error(`request scopes still enable ${held.map((g) => `${g.name} (${g.enabledScopes})`).join(', ')}`);
}
