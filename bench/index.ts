/**
 * Benchmark runner: `npm run bench` runs every suite in order, in one
 * process (`node --expose-gc --require tsx bench/index.ts`).
 */
import { coldPathSuite, coldSuite } from './cold';
import { contextsSuite } from './contexts';
import { coreSuite } from './core';
import { flagsSuite } from './flags';
import { instructionsSuite } from './instructions';
import { instrumentationSuite } from './instrumentations';
import { literalModeSuite } from './literal-mode';
import { otelDormantGatewaySuite, otelDormantSuite } from './otel-dormant';
import { requestPathSuite } from './request-path';
import { gatewaySuite, serverSuite } from './server';
import type { Suite } from './harness';

const all: readonly Suite[] = [
  coreSuite,
  contextsSuite,
  serverSuite,
  requestPathSuite,
  flagsSuite,
  instrumentationSuite,
  gatewaySuite,
  otelDormantSuite,
  coldSuite,
];
/**
 * Run only by name: `cold` includes the first, `otel-dormant` the second;
 * `instructions` needs valgrind and takes several minutes, `literal-mode`
 * needs perf.
 */
const byNameOnly: readonly Suite[] = [coldPathSuite, otelDormantGatewaySuite, instructionsSuite, literalModeSuite];
/** `npm run bench -- server` runs only the named suites. */
const wanted = process.argv.slice(2);
const suites = wanted.length === 0 ? all : [...all, ...byNameOnly].filter((suite) => wanted.includes(suite.name));

async function main(): Promise<void> {
  for (const suite of suites) await suite.run();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
