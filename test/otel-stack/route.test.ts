import { expect } from 'chai';
import express from 'express';
import Fastify from 'fastify';
import http from 'node:http';
import { fastifyTiming, instrumentExpress } from '../../src';
import { debugRequest } from '../adapters/debug-client';
import { close, listen } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';

/** The root span's `http.route` for one debugged request. */
async function routeOf(url: string): Promise<unknown> {
  const { spans } = await debugRequest(url);
  const root = spans.find((span) => span.name.startsWith('request_debug'));
  return root?.attributes['http.route'];
}

describe('http.route on the root span, from the framework adapters', () => {
  const harness = timingHarness();
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('Express: the matched route, under its mount path', async () => {
    const app = express();
    instrumentExpress(app);
    const users = express.Router();
    users.get('/:id', (_req, res) => {
      res.send('user');
    });
    app.use('/users', users);
    const server = http.createServer(app);
    const base = await listen(server);
    try {
      expect(await routeOf(`${base}/users/42`)).to.equal('/users/:id');
    } finally {
      server.closeAllConnections();
      await close(server);
    }
  });

  it('Fastify: the route as registered', async () => {
    const app = Fastify();
    await app.register(fastifyTiming);
    app.get('/items/:id', () => Promise.resolve('item'));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect(await routeOf(`${base}/items/7`)).to.equal('/items/:id');
    } finally {
      await app.close();
    }
  });
});
