/**
 * The dormant cost of the library instrumentations: each patched call
 * (dns.lookup of localhost, an HTTP GET to a loopback server, a Redis GET)
 * timed with the instrumentations disabled (the originals) and enabled but
 * dormant (nobody debugging), in alternating rounds in one process; the
 * ratio of the medians is the cost.
 */
import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type IoRedis from 'ioredis';
import type * as Instrumentations from '../instrumentations';
import { httpGet, median, printTable, type Suite } from './harness';
import { startRedisServer } from '../test/helpers/redis-server';

// The compiled package, as users run it (npm run bench builds it first).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const library = require('../dist/instrumentations') as typeof Instrumentations;

interface Operation {
  readonly name: string;
  readonly run: () => Promise<unknown>;
  readonly perRound: number;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

async function runInstrumentationSuite(): Promise<void> {
  console.log('\n== instrumentations: dormant cost of each patched call ==');
  console.log(
    `each operation runs sequentially (awaited one by one) in ${ROUNDS} rounds of three series in rotating order: ` +
      "the originals twice (A, A': instrumentations disabled) and patched but dormant (B: enabled, nobody debugging); " +
      "median microseconds per call; ratio B/A, and A'/A as the operation's own noise.",
  );
  const instrumentations = [
    new library.DnsInstrumentation({ enabled: false }),
    new library.HttpClientInstrumentation({ enabled: false }),
    new library.NetInstrumentation({ enabled: false }),
    new library.IoRedisInstrumentation({ enabled: false }),
  ];
  const setEnabled = (on: boolean): void => {
    for (const instrumentation of instrumentations) {
      if (on) instrumentation.enable();
      else instrumentation.disable();
    }
  };

  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const operations: Operation[] = [
    { name: "dns.lookup('localhost')", run: () => dns.promises.lookup('localhost'), perRound: 2000 },
    { name: 'http.get loopback (keep-alive)', run: () => httpGet(url, agent), perRound: 2000 },
  ];

  // ioredis is loaded after the instrumentation was enabled once, as an application loads it.
  setEnabled(true);
  setEnabled(false);
  const redis = hasRedisServer() ? await startRedisServer() : undefined;
  let client: IoRedis | undefined;
  if (redis !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: Redis } = require('ioredis') as { default: typeof IoRedis };
    client = new Redis({ host: '127.0.0.1', port: redis.port });
    const redisClient = client;
    await redisClient.set('bench:key', 'value');
    operations.push({ name: 'ioredis GET', run: () => redisClient.get('bench:key'), perRound: 4000 });
  } else {
    console.log('redis-server is not installed: the Redis GET row is skipped (apt-get install redis-server).');
  }

  const rows: string[][] = [];
  for (const operation of operations) {
    // Two series of the original (A, A') besides the patched one (B): A'/A shows the noise of the operation.
    const series: Record<'A' | 'A2' | 'B', number[]> = { A: [], A2: [], B: [] };
    const orders: ('A' | 'A2' | 'B')[][] = [
      ['A', 'B', 'A2'],
      ['B', 'A2', 'A'],
      ['A2', 'A', 'B'],
    ];
    for (let i = 0; i < operation.perRound / 4; i++) await operation.run(); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const which of orders[round % orders.length]) {
        setEnabled(which === 'B');
        series[which].push(await timePerCall(operation));
      }
    }
    const ratio = median(series.B) / median(series.A);
    const noise = median(series.A2) / median(series.A);
    rows.push([
      operation.name,
      median(series.A).toFixed(2),
      median(series.B).toFixed(2),
      `${ratio.toFixed(3)}x`,
      `${noise.toFixed(3)}x`,
      ratio <= 1.02 ? 'yes' : 'no',
    ]);
  }
  setEnabled(false);
  printTable(
    [
      { title: 'operation', align: 'left' },
      { title: 'original us/call', align: 'right' },
      { title: 'patched, dormant us/call', align: 'right' },
      { title: 'ratio', align: 'right' },
      { title: "noise: A'/A", align: 'right' },
      { title: '<= 1.02', align: 'right' },
    ],
    rows,
  );
  client?.disconnect();
  await redis?.stop();
  agent.destroy();
  server.close();
}

async function timePerCall(operation: Operation): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < operation.perRound; i++) await operation.run();
  return Number(process.hrtime.bigint() - start) / 1e3 / operation.perRound;
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export const instrumentationSuite: Suite = { name: 'instrumentations', run: runInstrumentationSuite };
