import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { send } from '../helpers/http';
import { nodeAt, type Tree } from '../helpers/debugged';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { PROJECT_ROOT } from '../helpers/run-node';

describe('instrumentations in an ESM application (import-in-the-middle)', () => {
  let redis: RedisServer;
  let app: ChildProcess;
  let url: string;
  let stderr = '';

  before(async () => {
    redis = await startRedisServer();
    app = spawn(
      process.execPath,
      ['--import', './test/fixtures/esm/register.mjs', join('test', 'fixtures', 'esm', 'app.mjs')],
      { cwd: PROJECT_ROOT, env: { ...process.env, REDIS_PORT: String(redis.port) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    app.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      app.stdout?.on('data', (chunk) => {
        out += String(chunk);
        const match = /ready (\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      app.once('exit', (code) => reject(new Error(`the app exited with ${code}: ${stderr}`)));
    });
  });
  after(async () => {
    app.kill();
    if (app.exitCode === null) await once(app, 'exit');
    await redis.stop();
  });

  it('times named ESM imports of built-ins and an ESM-imported CommonJS client', async () => {
    const plain = await send(`${url}/`);
    expect(JSON.parse(plain.body)).to.deep.include({ value: null });
    expect(plain.headers).to.not.have.property('x-request-debug-output');
    const reply = await send(`${url}/`, { 'X-Request-Debug': '*' });
    const tree = JSON.parse(reply.headers['x-request-debug-output'] as string) as Tree;
    expect(nodeAt(tree, 'dns', 'localhost', 'resolve').total_time).to.be.a('number');
    expect(nodeAt(tree, 'redis', 'get').total_time).to.be.a('number');
  });
});
