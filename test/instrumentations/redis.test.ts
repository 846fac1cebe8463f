import { expect } from 'chai';
import type IoRedis from 'ioredis';
import type * as NodeRedis from 'redis';
import { nodeAt, runInRequest, spanPath } from '../helpers/debugged';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { timingHarness } from '../helpers/timing-harness';

describe('Redis instrumentations (ioredis and node-redis)', () => {
  const harness = timingHarness();
  let server: RedisServer;
  let ioredis: IoRedis;
  let nodeRedis: ReturnType<typeof NodeRedis.createClient>;

  before(async () => {
    libraryInstrumentations();
    server = await startRedisServer();
    // Required after the instrumentations are enabled, as an application does.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { default: Redis } = require('ioredis') as { default: typeof IoRedis };
    const { createClient } = require('redis') as typeof NodeRedis;
    /* eslint-enable @typescript-eslint/no-require-imports */
    ioredis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await ioredis.connect();
    nodeRedis = createClient({ socket: { host: '127.0.0.1', port: server.port } });
    await nodeRedis.connect();
  });
  after(async () => {
    ioredis.disconnect();
    await nodeRedis.quit();
    await server.stop();
  });
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  for (const client of ['ioredis', 'node-redis'] as const) {
    const set = (key: string, value: string) =>
      client === 'ioredis' ? ioredis.set(key, value) : nodeRedis.set(key, value);
    const get = (key: string) => (client === 'ioredis' ? ioredis.get(key) : nodeRedis.get(key));
    const incr = (key: string) => (client === 'ioredis' ? ioredis.incr(key) : nodeRedis.incr(key));

    describe(client, () => {
      it('times each command as redis > command, with database attributes', async () => {
        const { tree, spans, result } = await runInRequest(async () => {
          await set(`${client}:greeting`, 'hello');
          return get(`${client}:greeting`);
        });
        expect(result).to.equal('hello');
        expect(Object.keys(nodeAt(tree, 'redis').child ?? {})).to.have.members(['set', 'get']);
        expect(nodeAt(tree, 'redis', 'get').dangling).to.equal(undefined);
        expect(spanPath(spans, 'get')).to.deep.equal(['request_debug GET', 'redis', 'get']);
        expect(spans.find((s) => s.name === 'get')?.attributes).to.include({
          'db.system.name': 'redis',
          'db.operation.name': 'GET',
          'server.address': '127.0.0.1',
          'server.port': server.port,
        });
      });

      it('ends an error reply as failed and rejects the caller with the same error', async () => {
        const { tree, spans, error } = await runInRequest(async () => {
          await set(`${client}:text`, 'not a number');
          return incr(`${client}:text`);
        });
        expect(String(error)).to.match(/not an integer/);
        expect(nodeAt(tree, 'redis', 'incr').dangling).to.equal(undefined);
        expect(spans.find((s) => s.name === 'incr')?.status.code).to.equal(2);
      });

      it('records nothing for a request that is not debugged', async () => {
        const { result } = await runInRequest(() => get(`${client}:missing`), false);
        expect(result).to.equal(null);
        expect(harness.spans()).to.deep.equal([]);
      });
    });
  }
});
