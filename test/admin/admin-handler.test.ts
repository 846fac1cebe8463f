import { expect } from 'chai';
import http from 'node:http';
import {
  createAdminHandler,
  disableByDefault,
  hook,
  hookFunction,
  isGroupEnabled,
  listGroups,
  type Unhook,
} from '../../src';
import { DiagCapture } from '../helpers/diag-capture';
import { close, listen } from '../helpers/http';
import { adminRequest, putGroup, type AdminRequest } from './admin-client';

const TOKEN = 'admin-test-token-5f1c9e';
const GROUP = 'admin_test_group';
const ODD_GROUP = 'admin:test/odd name';

/** What an operator can change: each known group and whether it is always enabled. */
function switches(): string {
  return JSON.stringify(listGroups().map((group) => [group.name, group.alwaysEnabled]));
}

describe('admin endpoint: createAdminHandler', () => {
  let server: http.Server;
  let origin: string;
  let base: string;
  const calls: string[] = [];
  const target = {
    work(): string {
      return 'done';
    },
  };
  const cleanups: (() => void)[] = [];

  before(async () => {
    cleanups.push(hook(GROUP, 'on_event', () => undefined));
    const unhook: Unhook = hookFunction(GROUP, target, 'work', 0, { befores: [() => calls.push('before work')] });
    cleanups.push(unhook);
    cleanups.push(hook(ODD_GROUP, 'odd_hook', () => undefined));
    server = http.createServer(createAdminHandler({ token: TOKEN }));
    origin = await listen(server);
    base = `${origin}/dynamic-hooks`;
  });
  after(async () => {
    await close(server);
    for (const cleanup of cleanups) cleanup();
    disableByDefault(GROUP);
    disableByDefault(ODD_GROUP);
  });
  afterEach(() => {
    disableByDefault(GROUP);
    disableByDefault(ODD_GROUP);
    calls.length = 0;
  });

  describe('construction', () => {
    it('requires a non-empty string token, naming the option without echoing the value', () => {
      for (const options of [{}, { token: '' }, { token: 123456789 }, { token: null }]) {
        expect(() => createAdminHandler(options as { token: string }))
          .to.throw(TypeError, /options\.token must be a non-empty string/)
          .with.property('message')
          .that.does.not.include('123456789');
      }
      expect(() => createAdminHandler(undefined as unknown as { token: string })).to.throw(TypeError, /token/);
    });

    it('checks the cluster options, naming them', () => {
      expect(() => createAdminHandler({ token: TOKEN, cluster: 'yes' as unknown as boolean })).to.throw(
        TypeError,
        /options\.cluster must be a boolean/,
      );
      expect(() => createAdminHandler({ token: TOKEN, clusterTimeoutMs: 0 })).to.throw(
        RangeError,
        /options\.clusterTimeoutMs must be from 1 to 60000/,
      );
      expect(() => createAdminHandler({ token: TOKEN, clusterTimeoutMs: 2.5 })).to.throw(TypeError, /clusterTimeoutMs/);
    });

    it('requires basePath to be a path', () => {
      expect(() => createAdminHandler({ token: TOKEN, basePath: 'admin' })).to.throw(TypeError, /options\.basePath/);
      expect(() => createAdminHandler({ token: TOKEN, basePath: '/a?b' })).to.throw(TypeError, /options\.basePath/);
    });
  });

  describe('listing', () => {
    it('GET /groups lists every group as listGroups() does, as uncached JSON', async () => {
      const reply = await adminRequest(`${base}/groups`, { token: TOKEN });
      expect(reply.status).to.equal(200);
      expect(reply.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(reply.headers['cache-control']).to.equal('no-store');
      const groups = reply.json().groups as { name: string }[];
      expect(groups.map((g) => g.name)).to.deep.equal(listGroups().map((g) => g.name));
      expect(groups.find((g) => g.name === GROUP)).to.deep.equal({
        name: GROUP,
        alwaysEnabled: false,
        enabledScopes: 0,
        hooks: ['on_event'],
        hookedFunctions: ['work'],
      });
    });

    it('GET /groups/:name answers one group; names are percent-decoded', async () => {
      const one = await adminRequest(`${base}/groups/${GROUP}`, { token: TOKEN });
      expect(one.status).to.equal(200);
      expect(one.json()).to.include({ name: GROUP, alwaysEnabled: false });

      const odd = await adminRequest(`${base}/groups/${encodeURIComponent(ODD_GROUP)}`, { token: TOKEN });
      expect(odd.status).to.equal(200);
      expect(odd.json()).to.deep.include({ name: ODD_GROUP, hooks: ['odd_hook'] });
    });

    it('ignores the query string and answers HEAD without a body', async () => {
      const query = await adminRequest(`${base}/groups?pretty=1`, { token: TOKEN });
      expect(query.status).to.equal(200);
      const head = await adminRequest(`${base}/groups`, { method: 'HEAD', token: TOKEN });
      expect(head.status).to.equal(200);
      expect(head.body).to.equal('');
      expect(head.headers['content-type']).to.match(/^application\/json/);
    });
  });

  describe('switching', () => {
    it('PUT {"alwaysEnabled": true} enables the group for every request, then false disables it', async () => {
      expect(isGroupEnabled(GROUP)).to.equal(false);
      target.work();
      expect(calls).to.deep.equal([]);

      const on = await putGroup(base, GROUP, { alwaysEnabled: true }, TOKEN);
      expect(on.status).to.equal(200);
      expect(on.headers['cache-control']).to.equal('no-store');
      expect(on.json()).to.include({ name: GROUP, alwaysEnabled: true });
      // Outside any request scope: the change is process-wide.
      expect(isGroupEnabled(GROUP)).to.equal(true);
      expect(target.work()).to.equal('done');
      expect(calls).to.deep.equal(['before work']);

      const off = await putGroup(base, GROUP, { alwaysEnabled: false }, TOKEN);
      expect(off.status).to.equal(200);
      expect(off.json()).to.include({ name: GROUP, alwaysEnabled: false });
      expect(isGroupEnabled(GROUP)).to.equal(false);
      target.work();
      expect(calls).to.deep.equal(['before work']);
    });

    it('POST /groups/:name/enable and /disable do the same without a body', async () => {
      const on = await adminRequest(`${base}/groups/${GROUP}/enable`, { method: 'POST', token: TOKEN });
      expect(on.status).to.equal(200);
      expect(on.json()).to.include({ alwaysEnabled: true });
      expect(isGroupEnabled(GROUP)).to.equal(true);
      const off = await adminRequest(`${base}/groups/${GROUP}/disable`, { method: 'POST', token: TOKEN });
      expect(off.status).to.equal(200);
      expect(off.json()).to.include({ alwaysEnabled: false });
      expect(isGroupEnabled(GROUP)).to.equal(false);
    });

    it('accepts a chunked body and a group name that needs percent-encoding', async () => {
      const reply = await adminRequest(`${base}/groups/${encodeURIComponent(ODD_GROUP)}`, {
        method: 'PUT',
        token: TOKEN,
        body: '{"alwaysEnabled": true}',
        chunked: true,
      });
      expect(reply.status).to.equal(200);
      expect(isGroupEnabled(ODD_GROUP)).to.equal(true);
    });

    it('logs every change through diag.info with the group, old -> new state and client, never the token', async () => {
      const capture = new DiagCapture().install();
      try {
        await putGroup(base, GROUP, { alwaysEnabled: true }, TOKEN);
        await putGroup(base, GROUP, { alwaysEnabled: true }, TOKEN);
        await adminRequest(`${base}/groups/${GROUP}/disable`, { method: 'POST', token: TOKEN });
      } finally {
        capture.uninstall();
      }
      const infos = capture.messages.filter((m) => m.level === 'info').map((m) => m.message);
      expect(infos).to.deep.equal([
        `dynamic-hooks admin: group "${GROUP}" alwaysEnabled false -> true (PUT from 127.0.0.1)`,
        `dynamic-hooks admin: group "${GROUP}" alwaysEnabled stays true (PUT from 127.0.0.1)`,
        `dynamic-hooks admin: group "${GROUP}" alwaysEnabled true -> false (POST from 127.0.0.1)`,
      ]);
      expect(capture.messages.map((m) => m.message).join('\n')).to.not.include(TOKEN);
    });
  });

  describe('refusals change nothing', () => {
    const enableBody = '{"alwaysEnabled": true}';
    const json = { 'content-type': 'application/json' };
    const oversized: AdminRequest = {
      method: 'PUT',
      token: TOKEN,
      headers: json,
      body: `{"alwaysEnabled": true, "pad": "${'x'.repeat(17_000)}"}`,
    };
    const cases: {
      title: string;
      path: string;
      request: AdminRequest;
      status: number;
      error: RegExp;
      headers?: Record<string, string | RegExp>;
    }[] = [
      {
        title: 'no token',
        path: `/groups/${GROUP}`,
        request: { method: 'PUT', headers: json, body: enableBody },
        status: 401,
        error: /Authorization: Bearer/,
        headers: { 'www-authenticate': 'Bearer' },
      },
      {
        title: 'no token, on a convenience route',
        path: `/groups/${GROUP}/enable`,
        request: { method: 'POST' },
        status: 401,
        error: /Authorization: Bearer/,
      },
      {
        title: 'a token in another scheme',
        path: `/groups/${GROUP}/enable`,
        request: { method: 'POST', headers: { authorization: `Basic ${TOKEN}` } },
        status: 401,
        error: /Bearer/,
      },
      {
        title: 'a token in the query string',
        path: `/groups/${GROUP}/enable?token=${TOKEN}`,
        request: { method: 'POST' },
        status: 401,
        error: /Bearer/,
      },
      {
        title: 'a wrong token',
        path: `/groups/${GROUP}`,
        request: { method: 'PUT', token: 'not-the-token', headers: json, body: enableBody },
        status: 403,
        error: /wrong admin token/,
      },
      {
        title: 'the token with a suffix',
        path: `/groups/${GROUP}/enable`,
        request: { method: 'POST', token: `${TOKEN}x` },
        status: 403,
        error: /wrong admin token/,
      },
      {
        title: 'a wrong token, even for listing',
        path: '/groups',
        request: { token: 'nope' },
        status: 403,
        error: /wrong admin token/,
      },
      {
        title: 'an unknown group',
        path: '/groups/admin_no_such_group',
        request: { method: 'PUT', token: TOKEN, headers: json, body: enableBody },
        status: 404,
        error: /no group named "admin_no_such_group"/,
      },
      {
        title: 'an unknown group, on a convenience route',
        path: '/groups/admin_no_such_group/enable',
        request: { method: 'POST', token: TOKEN },
        status: 404,
        error: /no group named/,
      },
      {
        title: 'bad JSON',
        path: `/groups/${GROUP}`,
        request: { method: 'PUT', token: TOKEN, headers: json, body: '{"alwaysEnabled": tru' },
        status: 400,
        error: /not valid JSON/,
      },
      {
        title: 'an empty body',
        path: `/groups/${GROUP}`,
        request: { method: 'PUT', token: TOKEN, headers: json, body: '' },
        status: 400,
        error: /JSON body is required/,
      },
      ...[
        'true',
        'null',
        '[true]',
        '{"alwaysEnabled": "true"}',
        '{"enabled": true}',
        '{"alwaysEnabled": true, "x": 1}',
      ].map((body) => ({
        title: `the body ${body}`,
        path: `/groups/${GROUP}`,
        request: { method: 'PUT', token: TOKEN, headers: json, body },
        status: 400,
        error: /exactly \{"alwaysEnabled": true\}/,
      })),
      {
        title: 'a wrong method on a group',
        path: `/groups/${GROUP}`,
        request: { method: 'DELETE', token: TOKEN },
        status: 405,
        error: /DELETE is not allowed/,
        headers: { allow: 'GET, HEAD, PUT' },
      },
      {
        title: 'a wrong method on the list',
        path: '/groups',
        request: { method: 'POST', token: TOKEN, headers: json, body: enableBody },
        status: 405,
        error: /POST is not allowed/,
        headers: { allow: 'GET, HEAD' },
      },
      {
        title: 'GET on a convenience route',
        path: `/groups/${GROUP}/enable`,
        request: { token: TOKEN },
        status: 405,
        error: /GET is not allowed/,
        headers: { allow: 'POST' },
      },
      {
        title: 'an oversized body with a Content-Length',
        path: `/groups/${GROUP}`,
        request: oversized,
        status: 413,
        error: /larger than 16384 bytes/,
      },
      {
        title: 'an oversized chunked body',
        path: `/groups/${GROUP}`,
        request: { ...oversized, chunked: true },
        status: 413,
        error: /larger than 16384 bytes/,
      },
      {
        title: 'a compressed body',
        path: `/groups/${GROUP}`,
        request: { method: 'PUT', token: TOKEN, headers: { ...json, 'content-encoding': 'gzip' }, body: enableBody },
        status: 415,
        error: /content-encoding gzip/,
      },
      {
        title: 'a malformed group name',
        path: '/groups/%E0%A4%A/enable',
        request: { method: 'POST', token: TOKEN },
        status: 400,
        error: /percent-encoding/,
      },
      {
        title: 'an unknown route',
        path: `/groups/${GROUP}/toggle`,
        request: { method: 'POST', token: TOKEN },
        status: 404,
        error: /no such route/,
      },
    ];

    for (const c of cases) {
      it(`refuses ${c.title} with ${c.status}, logs a warning without the token, and changes nothing`, async () => {
        const before = switches();
        const capture = new DiagCapture().install();
        let reply;
        try {
          reply = await adminRequest(`${base}${c.path}`, c.request);
        } finally {
          capture.uninstall();
        }
        expect(reply.status).to.equal(c.status);
        expect(reply.headers['content-type']).to.equal('application/json; charset=utf-8');
        expect(reply.headers['cache-control']).to.equal('no-store');
        expect(reply.json().error).to.match(c.error);
        for (const [name, value] of Object.entries(c.headers ?? {})) {
          if (typeof value === 'string') expect(reply.headers[name]).to.equal(value);
          else expect(reply.headers[name]).to.match(value);
        }
        expect(switches()).to.equal(before);
        expect(isGroupEnabled(GROUP)).to.equal(false);
        expect(listGroups().some((g) => g.name === 'admin_no_such_group')).to.equal(false);

        const warnings = capture.warnings();
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.match(
          new RegExp(`^dynamic-hooks admin: refused \\S+ /dynamic-hooks/\\S* from 127\\.0\\.0\\.1: ${c.status} `),
        );
        const logged = capture.messages.map((m) => m.message).join('\n');
        expect(logged).to.not.include(TOKEN);
        expect(logged).to.not.include('not-the-token');
        expect(capture.messages.filter((m) => m.level === 'info')).to.deep.equal([]);
      });
    }

    it('a wrong token cannot disable an enabled group either', async () => {
      expect((await putGroup(base, GROUP, { alwaysEnabled: true }, TOKEN)).status).to.equal(200);
      const before = switches();
      const wrong = await putGroup(base, GROUP, { alwaysEnabled: false }, 'wrong');
      expect(wrong.status).to.equal(403);
      const none = await adminRequest(`${base}/groups/${GROUP}/disable`, { method: 'POST' });
      expect(none.status).to.equal(401);
      expect(switches()).to.equal(before);
      expect(isGroupEnabled(GROUP)).to.equal(true);
    });

    it('keeps serving after a refused oversized body', async () => {
      const big = await adminRequest(`${base}/groups/${GROUP}`, {
        method: 'PUT',
        token: TOKEN,
        body: 'x'.repeat(200_000),
        chunked: true,
      });
      expect(big.status).to.equal(413);
      expect((await adminRequest(`${base}/groups`, { token: TOKEN })).status).to.equal(200);
    });
  });

  describe('paths outside the base path', () => {
    it('answers 404 without next(), with no token needed and no warning', async () => {
      const capture = new DiagCapture().install();
      let reply;
      try {
        reply = await adminRequest(`${origin}/elsewhere`);
      } finally {
        capture.uninstall();
      }
      expect(reply.status).to.equal(404);
      expect(capture.warnings()).to.deep.equal([]);
      expect((await adminRequest(`${origin}/dynamic-hooksx/groups`, { token: TOKEN })).status).to.equal(404);
    });

    it('calls next() when given one', async () => {
      const handler = createAdminHandler({ token: TOKEN, basePath: '/ops/' });
      const other = http.createServer((req, res) => {
        handler(req, res, () => res.end('next'));
      });
      const url = await listen(other);
      try {
        expect((await adminRequest(`${url}/hello`)).body).to.equal('next');
        const listed = await adminRequest(`${url}/ops/groups`, { token: TOKEN });
        expect(listed.status).to.equal(200);
        expect((await adminRequest(`${url}/ops/groups`)).status).to.equal(401);
      } finally {
        await close(other);
      }
    });
  });
});
