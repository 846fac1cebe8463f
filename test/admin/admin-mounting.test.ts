import { expect } from 'chai';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import http from 'node:http';
import { createAdminHandler, disableByDefault, hook, isGroupEnabled } from '../../src';
import { close, listen } from '../helpers/http';
import { adminRequest, putGroup } from './admin-client';

const TOKEN = 'admin-mount-token-77a0';
const GROUP = 'admin_mount_group';

describe('admin endpoint: mounted in frameworks', () => {
  let unhook: () => void;
  before(() => {
    unhook = hook(GROUP, 'noop', () => undefined);
  });
  after(() => {
    unhook();
  });
  afterEach(() => {
    disableByDefault(GROUP);
  });

  describe('Express 5', () => {
    let server: http.Server;
    let url: string;
    before(async () => {
      const app = express();
      app.get('/before', (_req, res) => {
        res.send('before');
      });
      app.use(express.json());
      app.use(createAdminHandler({ token: TOKEN }));
      app.use('/ops', createAdminHandler({ token: TOKEN, basePath: '/' }));
      app.get('/after', (_req, res) => {
        res.send('after');
      });
      server = http.createServer(app);
      url = await listen(server);
    });
    after(() => close(server));

    it('serves the admin routes beside the application routes', async () => {
      expect((await adminRequest(`${url}/before`)).body).to.equal('before');
      expect((await adminRequest(`${url}/after`)).body).to.equal('after');
      expect((await adminRequest(`${url}/missing`)).status).to.equal(404);
      const listed = await adminRequest(`${url}/dynamic-hooks/groups`, { token: TOKEN });
      expect(listed.status).to.equal(200);
      expect(listed.headers['content-type']).to.equal('application/json; charset=utf-8');
    });

    it('switches groups with a body that express.json() already parsed, and with one it left unread', async () => {
      const parsed = await putGroup(`${url}/dynamic-hooks`, GROUP, { alwaysEnabled: true }, TOKEN);
      expect(parsed.status).to.equal(200);
      expect(isGroupEnabled(GROUP)).to.equal(true);
      const unread = await adminRequest(`${url}/dynamic-hooks/groups/${GROUP}`, {
        method: 'PUT',
        token: TOKEN,
        headers: { 'content-type': 'text/plain' },
        body: '{"alwaysEnabled": false}',
      });
      expect(unread.status).to.equal(200);
      expect(isGroupEnabled(GROUP)).to.equal(false);
      const wrongShape = await putGroup(`${url}/dynamic-hooks`, GROUP, { alwaysEnabled: 'yes' }, TOKEN);
      expect(wrongShape.status).to.equal(400);
      expect(isGroupEnabled(GROUP)).to.equal(false);
    });

    it('works under a mount path with basePath "/"', async () => {
      const on = await adminRequest(`${url}/ops/groups/${GROUP}/enable`, { method: 'POST', token: TOKEN });
      expect(on.status).to.equal(200);
      expect(isGroupEnabled(GROUP)).to.equal(true);
      expect((await adminRequest(`${url}/ops/groups/${GROUP}/disable`, { method: 'POST' })).status).to.equal(401);
      expect(isGroupEnabled(GROUP)).to.equal(true);
    });

    it('refuses a wrong token and leaves the group alone', async () => {
      const wrong = await putGroup(`${url}/dynamic-hooks`, GROUP, { alwaysEnabled: true }, 'wrong');
      expect(wrong.status).to.equal(403);
      expect(isGroupEnabled(GROUP)).to.equal(false);
    });
  });

  describe('Fastify 5 (onRequest hook + reply.hijack(), as the README shows)', () => {
    let app: FastifyInstance;
    let url: string;
    before(async () => {
      app = Fastify();
      const admin = createAdminHandler({ token: TOKEN });
      app.addHook('onRequest', (request, reply, done) => {
        if (!request.url.startsWith('/dynamic-hooks/')) {
          done();
          return;
        }
        reply.hijack();
        admin(request.raw, reply.raw);
      });
      app.get('/hello', () => ({ hello: 'world' }));
      url = await app.listen({ port: 0, host: '127.0.0.1' });
    });
    after(() => app.close());

    it('serves the admin routes beside the application routes', async () => {
      expect((await adminRequest(`${url}/hello`)).json()).to.deep.equal({ hello: 'world' });
      expect((await adminRequest(`${url}/missing`)).status).to.equal(404);
      const on = await putGroup(`${url}/dynamic-hooks`, GROUP, { alwaysEnabled: true }, TOKEN);
      expect(on.status).to.equal(200);
      expect(on.json()).to.include({ name: GROUP, alwaysEnabled: true });
      expect(isGroupEnabled(GROUP)).to.equal(true);
      const listed = await adminRequest(`${url}/dynamic-hooks/groups`, { token: TOKEN });
      expect(listed.status).to.equal(200);
    });

    it('refuses bad JSON and a missing token, changing nothing', async () => {
      const bad = await adminRequest(`${url}/dynamic-hooks/groups/${GROUP}`, {
        method: 'PUT',
        token: TOKEN,
        headers: { 'content-type': 'application/json' },
        body: '{nope',
      });
      expect(bad.status).to.equal(400);
      expect(bad.json().error).to.match(/not valid JSON/);
      const none = await adminRequest(`${url}/dynamic-hooks/groups/${GROUP}/enable`, { method: 'POST' });
      expect(none.status).to.equal(401);
      expect(isGroupEnabled(GROUP)).to.equal(false);
    });
  });
});
