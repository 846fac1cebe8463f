/**
 * Benchmark runner: `npm run bench` runs every suite in order, in one
 * process (`node --expose-gc --require tsx bench/index.ts`).
 */
import { coreSuite } from './core';
import type { Suite } from './harness';

const suites: readonly Suite[] = [coreSuite];

async function main(): Promise<void> {
  for (const suite of suites) await suite.run();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
