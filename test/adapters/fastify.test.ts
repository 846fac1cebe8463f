import { expect } from 'chai';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { fastifyTiming, timing } from '../../src';
import { nodeAt, spanPath } from '../helpers/debugged';
import { send } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';
import { allNames, childNames, comparable, danglingPaths, debugRequest } from './debug-client';

const ROOT = 'request_debug GET';

type Query = { deny?: string; fail?: string; failRequest?: string; early?: string };

async function buildApp(instrument: boolean): Promise<FastifyInstance> {
  const app = Fastify();
  if (instrument) await app.register(fastifyTiming);
  app.addHook('onRequest', async function tagRequest(request: FastifyRequest<{ Querystring: Query }>) {
    await Promise.resolve();
    if (request.query.failRequest !== undefined) throw new Error('onRequest failed');
  });
  app.addHook('onRequest', function earlyReply(request: FastifyRequest<{ Querystring: Query }>, reply, done) {
    if (request.query.early === undefined) {
      done();
      return;
    }
    // Replies from onRequest without calling done, leaving its own context open.
    timing.enterContext('early_check');
    void reply.code(401).send('early');
  });
  app.addHook('preHandler', async function auth(request: FastifyRequest<{ Querystring: Query }>, reply) {
    await sleep(5); // timers may fire up to 1 ms early
    if (request.query.deny !== undefined) await reply.code(401).send('denied');
  });
  app.addHook('preHandler', function rateLimit(request: FastifyRequest<{ Querystring: Query }>, _reply, done) {
    if (request.query.fail !== undefined) throw new Error('hook failed');
    done();
  });
  app.addHook('onSend', function stamp(_request, reply: FastifyReply, payload) {
    reply.header('x-stamped', '1');
    return Promise.resolve(payload);
  });
  app.get<{ Params: { id: string } }>(
    '/orders/:id',
    {
      preHandler: [
        function loadUser(_request, _reply, done) {
          done();
        },
      ],
    },
    function showOrder(request, reply) {
      timing.enterContext('load_order');
      timing.setContextProp('id', request.params.id);
      timing.leaveContext();
      return reply.send({ order: request.params.id });
    },
  );
  app.get('/throws', async function thrower() {
    await sleep(1);
    throw new Error('handler failed');
  });
  app.post(
    '/validated',
    { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } },
    (request, reply) => reply.send({ got: request.body }),
  );
  return app;
}

describe('Fastify adapter (fastifyTiming)', () => {
  const harness = timingHarness();
  let app: FastifyInstance;
  let plain: FastifyInstance;
  let base: string;
  let plainBase: string;

  before(async () => {
    app = await buildApp(true);
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    plain = await buildApp(false);
    plainBase = await plain.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app.close();
    await plain.close();
  });
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('maps onRequest to rewrite, route processing to router and preHandler hooks to plugins inside access', async () => {
    const { reply, header, logged } = await debugRequest(`${base}/orders/42`);
    expect(reply.status).to.equal(200);
    expect(JSON.parse(reply.body)).to.deep.equal({ order: '42' });
    expect(childNames(logged)).to.deep.equal([
      'rewrite',
      'access',
      'load_order',
      'header_filter',
      'body_filter',
      'log',
    ]);
    expect(childNames(nodeAt(logged, 'access'))).to.deep.equal(['router', 'plugins']);
    const plugins = nodeAt(logged, 'access', 'plugins');
    expect(childNames(plugins)).to.deep.equal(['auth', 'rateLimit', 'loadUser']);
    expect(childNames(nodeAt(plugins, 'auth'))).to.deep.equal(['auth#0']);
    expect(childNames(nodeAt(plugins, 'rateLimit'))).to.deep.equal(['rateLimit#1']);
    expect(childNames(nodeAt(plugins, 'loadUser'))).to.deep.equal(['loadUser#2']);
    expect(nodeAt(plugins, 'auth', 'auth#0').total_time, 'the async hook until it settled').to.be.at.least(3.5);
    expect(nodeAt(logged, 'load_order').id).to.equal('42');
    expect(allNames(logged)).to.not.include('showOrder');
    expect(danglingPaths(logged)).to.deep.equal([]);
    expect(danglingPaths(header)).to.deep.equal([]);
  });

  it('gives each context a span under the right parent, the phases run twice as siblings', async () => {
    const { spans } = await debugRequest(`${base}/orders/7`);
    expect(spanPath(spans, 'router')).to.deep.equal([ROOT, 'access', 'router']);
    expect(spanPath(spans, 'auth#0')).to.deep.equal([ROOT, 'access', 'plugins', 'auth', 'auth#0']);
    expect(spanPath(spans, 'loadUser#2')).to.deep.equal([ROOT, 'access', 'plugins', 'loadUser', 'loadUser#2']);
    expect(spanPath(spans, 'load_order')).to.deep.equal([ROOT, 'load_order']);
    // The server integration's rewrite and header_filter, and the adapter's: siblings, never nested.
    const root = spans.find((s) => s.name === ROOT);
    for (const phase of ['rewrite', 'header_filter']) {
      const parents = spans.filter((s) => s.name === phase).map((s) => s.parentSpanContext?.spanId);
      expect(parents, phase).to.deep.equal([root?.spanContext().spanId, root?.spanContext().spanId]);
    }
    expect(spans.filter((s) => s.name === 'access')).to.have.length(1);
  });

  it('leaves every context when a preHandler hook throws, and answers 500', async () => {
    const { reply, logged } = await debugRequest(`${base}/orders/1?fail=1`);
    expect(reply.status).to.equal(500);
    expect(JSON.parse(reply.body)).to.include({ message: 'hook failed' });
    expect(childNames(nodeAt(logged, 'access', 'plugins'))).to.deep.equal(['auth', 'rateLimit']);
    expect(childNames(logged)).to.deep.equal(['rewrite', 'access', 'header_filter', 'body_filter', 'log']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('leaves rewrite when an onRequest hook throws', async () => {
    const { reply, logged } = await debugRequest(`${base}/orders/1?failRequest=1`);
    expect(reply.status).to.equal(500);
    expect(childNames(logged)).to.deep.equal(['rewrite', 'header_filter', 'body_filter', 'log']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('ends access at the handler even when the handler fails', async () => {
    const { reply, logged } = await debugRequest(`${base}/throws`);
    expect(reply.status).to.equal(500);
    expect(JSON.parse(reply.body)).to.include({ message: 'handler failed' });
    expect(childNames(logged)).to.deep.equal(['rewrite', 'access', 'header_filter', 'body_filter', 'log']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('ends access when a preHandler hook replies itself', async () => {
    const { reply, header, logged } = await debugRequest(`${base}/orders/1?deny=1`);
    expect(reply.status).to.equal(401);
    expect(reply.body).to.equal('denied');
    expect(childNames(nodeAt(logged, 'access', 'plugins'))).to.deep.equal(['auth']);
    expect(childNames(header)).to.deep.equal(['rewrite', 'access', 'header_filter']);
    expect(danglingPaths(header)).to.deep.equal([]);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('ends rewrite when an onRequest hook replies itself: header_filter at the top, nothing dangling', async () => {
    const { reply, header, logged, spans } = await debugRequest(`${base}/orders/1?early=1`);
    expect(reply.status).to.equal(401);
    expect(reply.body).to.equal('early');
    expect(childNames(header)).to.deep.equal(['rewrite', 'header_filter']);
    expect(childNames(logged)).to.deep.equal(['rewrite', 'header_filter', 'body_filter', 'log']);
    expect(childNames(nodeAt(logged, 'rewrite'))).to.deep.equal(['early_check']);
    expect(danglingPaths(header)).to.deep.equal([]);
    expect(danglingPaths(logged)).to.deep.equal([]);
    expect(spanPath(spans, 'header_filter')).to.deep.equal([ROOT, 'header_filter']);
  });

  it('ends router at a validation failure and access before the 400 is written', async () => {
    const { reply, logged, spans } = await debugRequest(`${base}/validated`, 'POST');
    expect(reply.status).to.equal(400);
    expect(childNames(nodeAt(logged, 'access'))).to.deep.equal(['router']);
    expect(spanPath(spans, 'header_filter')).to.deep.equal(['request_debug POST', 'header_filter']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('leaves nothing open for a 404', async () => {
    const { reply, logged } = await debugRequest(`${base}/nothing`);
    expect(reply.status).to.equal(404);
    expect(childNames(nodeAt(logged, 'access', 'plugins'))).to.deep.equal(['auth', 'rateLimit']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('creates no spans and no output for a request nobody debugs, which is answered as usual', async () => {
    const reply = await send(`${base}/orders/42`);
    expect(reply.status).to.equal(200);
    expect(JSON.parse(reply.body)).to.deep.equal({ order: '42' });
    expect(reply.headers).to.not.have.property('x-request-debug-output');
    await sleep(20);
    expect(harness.spans()).to.deep.equal([]);
    expect(harness.logLines).to.deep.equal([]);
  });

  it('answers exactly as the app without the plugin does, debugged or not', async () => {
    for (const path of [
      '/orders/42',
      '/orders/1?deny=1',
      '/orders/1?fail=1',
      '/orders/1?failRequest=1',
      '/throws',
      '/nothing',
    ]) {
      const plainReply = comparable(await send(`${plainBase}${path}`));
      expect(comparable(await send(`${base}${path}`)), path).to.deep.equal(plainReply);
      expect(comparable((await debugRequest(`${base}${path}`)).reply), `${path} debugged`).to.deep.equal(plainReply);
    }
  });

  it('is a whole-app plugin that can be registered twice', async () => {
    const plugin = fastifyTiming as unknown as Record<symbol, unknown>;
    expect(plugin[Symbol.for('skip-override')]).to.equal(true);
    expect(plugin[Symbol.for('fastify.display-name')]).to.be.a('string');
    const twice = Fastify();
    await twice.register(fastifyTiming);
    await twice.register(fastifyTiming);
    twice.addHook('preHandler', async function once() {});
    twice.get('/', (_request, reply) => reply.send('ok'));
    const url = await twice.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { reply, logged } = await debugRequest(`${url}/`);
      expect(reply.body).to.equal('ok');
      expect(childNames(nodeAt(logged, 'access', 'plugins', 'once'))).to.deep.equal(['once#0']);
      expect(
        allNames(logged).filter((name) => name === 'plugins'),
        'hooks registered once',
      ).to.have.length(1);
    } finally {
      await twice.close();
    }
  });
});
