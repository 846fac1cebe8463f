import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { disableByDefault, hook, isGroupEnabled, startAdminServer, type AdminServer } from '../../src';
import { DiagCapture } from '../helpers/diag-capture';
import { close, listen } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';
import { adminRequest, putGroup } from './admin-client';

const TOKEN = 'admin-server-token-82d4';
const GROUP = 'admin_server_group';

describe('admin endpoint: startAdminServer', () => {
  let unhook: () => void;
  const started: AdminServer[] = [];
  const start = async (options: Parameters<typeof startAdminServer>[0]): Promise<AdminServer> => {
    const admin = await startAdminServer(options);
    started.push(admin);
    return admin;
  };

  before(() => {
    unhook = hook(GROUP, 'noop', () => undefined);
  });
  after(() => {
    unhook();
  });
  afterEach(async () => {
    disableByDefault(GROUP);
    await Promise.all(started.splice(0).map((admin) => admin.close()));
  });

  it('binds 127.0.0.1 on an ephemeral port by default and reports its URL', async () => {
    const capture = new DiagCapture().install();
    let admin;
    try {
      admin = await start({ token: TOKEN });
    } finally {
      capture.uninstall();
    }
    const address = admin.server.address() as AddressInfo;
    expect(address.address).to.equal('127.0.0.1');
    expect(admin.host).to.equal('127.0.0.1');
    expect(admin.port).to.equal(address.port).and.to.be.greaterThan(0);
    expect(admin.url).to.equal(`http://127.0.0.1:${address.port}/dynamic-hooks`);
    expect(capture.messages).to.deep.include({
      level: 'info',
      message: `dynamic-hooks admin: listening on ${admin.url}`,
    });

    const on = await putGroup(admin.url, GROUP, { alwaysEnabled: true }, TOKEN);
    expect(on.status).to.equal(200);
    expect(isGroupEnabled(GROUP)).to.equal(true);
    expect((await adminRequest(`${admin.url}/groups/${GROUP}`)).status).to.equal(401);
  });

  it('takes a port, a host and a base path', async () => {
    const probe = http.createServer();
    await listen(probe);
    const { port } = probe.address() as AddressInfo;
    await close(probe);
    const admin = await start({ token: TOKEN, port, host: 'localhost', basePath: '/ops' });
    expect(admin.port).to.equal(port);
    expect(admin.url).to.match(new RegExp(`^http://(127\\.0\\.0\\.1|\\[::1\\]):${port}/ops$`));
    const reply = await adminRequest(`${admin.url}/groups/${GROUP}`, { token: TOKEN });
    expect(reply.status).to.equal(200);
    expect(reply.json()).to.include({ name: GROUP });
  });

  it('warns when bound beyond loopback', async () => {
    const capture = new DiagCapture().install();
    try {
      await start({ token: TOKEN, host: '0.0.0.0' });
    } finally {
      capture.uninstall();
    }
    expect(capture.warnings().join('\n')).to.match(/beyond loopback; the token travels in clear text/);
  });

  it('rejects when the port is taken, and on bad options', async () => {
    const taken = http.createServer();
    await listen(taken);
    try {
      const { port } = taken.address() as AddressInfo;
      let error: unknown;
      try {
        await start({ token: TOKEN, port });
      } catch (e) {
        error = e;
      }
      expect(error).to.have.property('code', 'EADDRINUSE');
    } finally {
      await close(taken);
    }
    for (const options of [{ token: '' }, { token: TOKEN, port: -1 }, { token: TOKEN, port: 1.5 }]) {
      let error: unknown;
      try {
        await start(options);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/options\.(token|port)/);
    }
  });

  it('close() stops listening and may be called twice', async () => {
    const admin = await start({ token: TOKEN });
    await admin.close();
    expect(admin.server.listening).to.equal(false);
    await admin.close();
    let error: unknown;
    try {
      await adminRequest(`${admin.url}/groups`, { token: TOKEN });
    } catch (e) {
      error = e;
    }
    expect(error).to.have.property('code', 'ECONNREFUSED');
  });

  it('keeps working while TimingInstrumentation covers its server, debug requests included', async () => {
    const harness = timingHarness();
    harness.configure({});
    harness.reset();
    try {
      const admin = await start({ token: TOKEN });
      const debugged = await adminRequest(`${admin.url}/groups/${GROUP}/enable`, {
        method: 'POST',
        token: TOKEN,
        headers: { 'X-Request-Debug': '*' },
      });
      expect(debugged.status).to.equal(200);
      expect(debugged.json()).to.include({ name: GROUP, alwaysEnabled: true });
      expect(debugged.headers['x-request-debug-output']).to.be.a('string');
      expect(isGroupEnabled(GROUP)).to.equal(true);

      const plain = await putGroup(admin.url, GROUP, { alwaysEnabled: false }, TOKEN);
      expect(plain.status).to.equal(200);
      expect(plain.headers['x-request-debug-output']).to.equal(undefined);
      expect(isGroupEnabled(GROUP)).to.equal(false);
      const refused = await putGroup(admin.url, GROUP, { alwaysEnabled: true }, 'wrong');
      expect(refused.status).to.equal(403);
      expect(isGroupEnabled(GROUP)).to.equal(false);
    } finally {
      harness.reset();
    }
  });
});
