import { expect } from 'chai';
import express, { type NextFunction, type Request, type Response } from 'express';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { instrumentExpress, timing } from '../../src';
import { nodeAt, spanPath } from '../helpers/debugged';
import { close, listen, send } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';
import { allNames, childNames, comparable, danglingPaths, debugRequest } from './debug-client';

const ROOT = 'request_debug GET';

/** The app under test; layer positions (the ids' numbers) in comments. */
function buildApp(instrument: boolean): express.Express {
  const app = express();
  app.set('env', 'test'); // the final handler stays quiet
  if (instrument) instrumentExpress(app);
  app.use(function logger(_req, res, next) {
    res.setHeader('x-seen-by', 'logger');
    next();
  }); // 0
  app.use(async function auth(req, res, next) {
    await sleep(5); // timers may fire up to 1 ms early
    if (req.query.deny !== undefined) {
      res.status(401).send('denied'); // responds itself, never calls next
      return;
    }
    next();
  }); // 1
  const api = express.Router();
  api.use(function apiVersion(_req, res, next) {
    res.setHeader('x-api', 'v1');
    next();
  }); // 2.0
  api.get(
    '/items/:id',
    function loadItem(_req, _res, next) {
      next();
    }, // 2.1.0
    function showItem(req, res) {
      timing.enterContext('render_item');
      timing.leaveContext();
      res.json({ item: req.params.id });
    }, // 2.1.1, the handler
  );
  app.use('/api', api); // 2
  app.get('/orders/:id', function showOrder(req, res) {
    timing.enterContext('load_order');
    timing.setContextProp('id', req.params.id);
    timing.leaveContext();
    res.json({ order: req.params.id });
  }); // 3
  app.use('/throws', function thrower() {
    throw new Error('sync boom');
  }); // 4
  app.use('/rejects', async function rejecter() {
    await sleep(1);
    throw new Error('async boom');
  }); // 5
  app.use('/passes-error', function passer(_req, _res, next) {
    next(new Error('passed on'));
  }); // 6
  app.use('/late', function respondsLater(_req, res) {
    setTimeout(() => res.send('late'), 5);
  }); // 7
  app.use(function errorPage(error: Error, _req: Request, res: Response, _next: NextFunction) {
    timing.enterContext('error_page');
    timing.leaveContext();
    res.status(500).send(`error: ${error.message}`);
  }); // 8
  return app;
}

describe('Express adapter (instrumentExpress)', () => {
  const harness = timingHarness();
  let app: express.Express;
  let server: http.Server;
  let plainServer: http.Server;
  let base: string;
  let plainBase: string;

  before(async () => {
    app = buildApp(true);
    server = http.createServer(app);
    base = await listen(server);
    plainServer = http.createServer(buildApp(false));
    plainBase = await listen(plainServer);
  });
  after(async () => {
    await close(server);
    await close(plainServer);
  });
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('times middleware as plugins and route matching as router inside access, before the handler', async () => {
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
    expect(childNames(nodeAt(logged, 'access'))).to.deep.equal(['plugins', 'router']);
    expect(childNames(nodeAt(logged, 'access', 'plugins'))).to.deep.equal(['logger', 'auth']);
    expect(childNames(nodeAt(logged, 'access', 'plugins', 'logger'))).to.deep.equal(['logger#0']);
    expect(childNames(nodeAt(logged, 'access', 'plugins', 'auth'))).to.deep.equal(['auth#1']);
    expect(
      nodeAt(logged, 'access', 'plugins', 'auth', 'auth#1').total_time,
      'the async middleware until next',
    ).to.be.at.least(3.5);
    expect(nodeAt(logged, 'load_order').id).to.equal('42');
    expect(danglingPaths(logged)).to.deep.equal([]);
    expect(danglingPaths(header)).to.deep.equal([]);
    expect(childNames(header)).to.deep.equal(['rewrite', 'access', 'load_order', 'header_filter']);
  });

  it('gives each context a span under the right parent', async () => {
    const { spans } = await debugRequest(`${base}/orders/7`);
    expect(spanPath(spans, 'logger#0')).to.deep.equal([ROOT, 'access', 'plugins', 'logger', 'logger#0']);
    expect(spanPath(spans, 'auth#1')).to.deep.equal([ROOT, 'access', 'plugins', 'auth', 'auth#1']);
    expect(spanPath(spans, 'router')).to.deep.equal([ROOT, 'access', 'router']);
    expect(spanPath(spans, 'load_order')).to.deep.equal([ROOT, 'load_order']);
    expect(spanPath(spans, 'header_filter')).to.deep.equal([ROOT, 'header_filter']);
    expect(spans.filter((s) => s.name === 'access')).to.have.length(1);
  });

  it("counts a nested router's middleware and a route's callbacks before its handler as plugins", async () => {
    const { reply, logged, spans } = await debugRequest(`${base}/api/items/7`);
    expect(JSON.parse(reply.body)).to.deep.equal({ item: '7' });
    const plugins = nodeAt(logged, 'access', 'plugins');
    expect(childNames(plugins)).to.deep.equal(['logger', 'auth', 'apiVersion', 'loadItem']);
    expect(childNames(nodeAt(plugins, 'apiVersion'))).to.deep.equal(['apiVersion#2.0']);
    expect(childNames(nodeAt(plugins, 'loadItem'))).to.deep.equal(['loadItem#2.1.0']);
    expect(allNames(logged)).to.not.include('showItem');
    expect(childNames(logged)).to.include('render_item');
    expect(spanPath(spans, 'render_item')).to.deep.equal([ROOT, 'render_item']);
    expect(spanPath(spans, 'loadItem#2.1.0')).to.deep.equal([ROOT, 'access', 'plugins', 'loadItem', 'loadItem#2.1.0']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  for (const [path, culprit, message] of [
    ['/throws', 'thrower#4', 'sync boom'],
    ['/rejects', 'rejecter#5', 'async boom'],
    ['/passes-error', 'passer#6', 'passed on'],
  ] as const) {
    it(`leaves every context when a middleware fails (${path}) and the error handler answers after access`, async () => {
      const { reply, logged, spans } = await debugRequest(`${base}${path}`);
      expect(reply.status).to.equal(500);
      expect(reply.body).to.equal(`error: ${message}`);
      const name = culprit.split('#')[0];
      expect(childNames(nodeAt(logged, 'access', 'plugins', name))).to.deep.equal([culprit]);
      expect(childNames(logged)).to.deep.equal([
        'rewrite',
        'access',
        'error_page',
        'header_filter',
        'body_filter',
        'log',
      ]);
      expect(danglingPaths(logged)).to.deep.equal([]);
      expect(spanPath(spans, 'error_page')).to.deep.equal([ROOT, 'error_page']);
    });
  }

  it('ends access when a middleware responds itself', async () => {
    const { reply, header, logged, spans } = await debugRequest(`${base}/orders/1?deny=1`);
    expect(childNames(header)).to.deep.equal(['rewrite', 'access', 'header_filter']);
    expect(danglingPaths(header)).to.deep.equal([]);
    expect(reply.status).to.equal(401);
    expect(reply.body).to.equal('denied');
    expect(childNames(nodeAt(logged, 'access', 'plugins'))).to.deep.equal(['logger', 'auth']);
    expect(childNames(nodeAt(logged, 'access'))).to.deep.equal(['plugins']);
    expect(childNames(logged)).to.deep.equal(['rewrite', 'access', 'header_filter', 'body_filter', 'log']);
    expect(spanPath(spans, 'header_filter')).to.deep.equal([ROOT, 'header_filter']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('ends the plugin context of a middleware that responds later without calling next when it responds', async () => {
    const { reply, logged } = await debugRequest(`${base}/late`);
    expect(reply.body).to.equal('late');
    const late = nodeAt(logged, 'access', 'plugins', 'respondsLater', 'respondsLater#7');
    expect(late.total_time).to.be.at.least(3.5);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('ends access at the final handler when no route matches', async () => {
    const { reply, logged } = await debugRequest(`${base}/nothing/here`);
    expect(reply.status).to.equal(404);
    expect(childNames(nodeAt(logged, 'access'))).to.deep.equal(['plugins', 'router']);
    expect(danglingPaths(logged)).to.deep.equal([]);
  });

  it('times layers added after instrumentExpress() and after earlier debugged requests', async () => {
    await debugRequest(`${base}/orders/1`);
    app.use('/added', function addedLater(_req, res) {
      res.send('added');
    });
    const { reply, logged } = await debugRequest(`${base}/added`);
    expect(reply.body).to.equal('added');
    expect(childNames(nodeAt(logged, 'access', 'plugins'))).to.deep.equal(['logger', 'auth', 'addedLater']);
    expect(childNames(nodeAt(logged, 'access', 'plugins', 'addedLater'))).to.deep.equal(['addedLater#9']);
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

  it('answers exactly as the app without the adapter does, debugged or not', async () => {
    for (const path of ['/orders/42', '/api/items/7', '/orders/1?deny=1', '/throws', '/late', '/nothing']) {
      const plain = comparable(await send(`${plainBase}${path}`));
      expect(comparable(await send(`${base}${path}`)), path).to.deep.equal(plain);
      expect(comparable((await debugRequest(`${base}${path}`)).reply), `${path} debugged`).to.deep.equal(plain);
    }
  });

  it('is idempotent and refuses what is not an Express 5 application', () => {
    expect(instrumentExpress(app)).to.equal(app);
    const handle = (app as unknown as { handle: unknown }).handle;
    instrumentExpress(app);
    expect((app as unknown as { handle: unknown }).handle).to.equal(handle);
    expect(() => instrumentExpress({ router: { stack: [] } })).to.throw(TypeError, /Express 5 application/);
  });
});
