/**
 * The flag-rules benchmark: what one request pays when a flag with
 * targeting is evaluated for it (building its evaluation context, then
 * flagd's in-process evaluator), for bench/servers/flag-rule.json's rule
 * (method, path and a header, then a fractional split), in ns per request.
 * The server suite's setup (e) measures the same inside a real server.
 */
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as EvaluationContext from '../src/flags/evaluation-context';
import type { ContextSettings } from '../src/flags/evaluation-context';
import type * as FlagdRules from '../src/flags/flagd-rules';
import { consume, printTable, type Suite } from './harness';

// The modules as the package ships them, from dist/ (see library.ts): through tsx, each call between modules reads a getter.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { requestContext } = require('../dist/src/flags/evaluation-context') as typeof EvaluationContext;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { compileFlagFile } = require('../dist/src/flags/flagd-rules') as typeof FlagdRules;

const RULE = join(__dirname, 'servers', 'flag-rule.json');
const ITERATIONS = 200_000;

function fakeRequest(method: string, url: string, tenant: string): IncomingMessage {
  return {
    method,
    url,
    rawHeaders: ['Host', 'example.com', 'User-Agent', 'bench', 'Accept', '*/*', 'X-Tenant', tenant],
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage;
}

function measure(label: string, run: () => boolean): [string, string] {
  for (let i = 0; i < ITERATIONS / 10; i++) consume(run() ? 1 : 0);
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    let selected = 0;
    for (let i = 0; i < ITERATIONS; i++) if (run()) selected++;
    samples.push(((performance.now() - started) * 1e6) / ITERATIONS);
    consume(selected);
  }
  samples.sort((x, y) => x - y);
  return [label, samples[2].toFixed(0)];
}

function runFlagsSuite(): Promise<void> {
  const rules = compileFlagFile(readFileSync(RULE, 'utf8'));
  const settings: ContextSettings = { headers: ['x-tenant'], addContext: undefined, targetingKey: undefined };
  const key = rules.targeted[0].key;
  const miss = fakeRequest('GET', '/products?page=2', 'other');
  const hit = fakeRequest('POST', '/checkout', 'acme');
  console.log('\n== flag rules: per-request evaluation, in process ==');
  console.log(`${ITERATIONS} requests per round, 5 rounds, median; the rule of bench/servers/flag-rule.json`);
  printTable(
    [
      { title: 'what', align: 'left' },
      { title: 'ns/request', align: 'right' },
    ],
    [
      measure('evaluation context only', () => requestContext(settings, miss).method === 'GET'),
      measure('context + rule, request not selected (GET /products)', () =>
        rules.evaluate(key, requestContext(settings, miss)),
      ),
      measure('context + rule, selected path and tenant (fractional 1%)', () =>
        rules.evaluate(key, requestContext(settings, hit)),
      ),
    ],
  );
  return Promise.resolve();
}

export const flagsSuite: Suite = { name: 'flags', run: runFlagsSuite };
