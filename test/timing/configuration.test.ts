import { expect } from 'chai';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { enableOnThisRequest, isGroupEnabled, listGroups, timing } from '../../src';
import { DiagCapture } from '../helpers/diag-capture';
import { close, listen, send } from '../helpers/http';
import { testCertificate } from '../helpers/tls-cert';
import { timingHarness } from '../helpers/timing-harness';

const REMOTE = { 'X-Real-IP': '198.51.100.20' };
const TRUST_LOOPBACK = ['127.0.0.0/8', '::1'];

function outputHeader(headers: http.IncomingHttpHeaders, name = 'x-request-debug-output'): unknown {
  const value = headers[name];
  return typeof value === 'string' ? JSON.parse(value) : undefined;
}

describe('TimingInstrumentation configuration', () => {
  const harness = timingHarness();
  let server: http.Server;
  let base: string;
  const seen: http.IncomingHttpHeaders[] = [];

  const scopeErrors: unknown[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      try {
        enableOnThisRequest('app_group');
        scopeErrors.push(isGroupEnabled('app_group') ? null : 'not enabled');
      } catch (error) {
        scopeErrors.push(error);
      }
      timing.enterContext('handler');
      timing.leaveContext();
      res.end('ok');
    });
    base = await listen(server);
  });
  after(() => close(server));
  beforeEach(() => {
    harness.reset();
    seen.length = 0;
    scopeErrors.length = 0;
  });
  afterEach(() => {
    delete process.env.DYNAMIC_HOOKS_REQUEST_DEBUG;
    delete process.env.DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN;
    harness.instrumentation.enable();
    harness.configure({});
  });

  it('generates a random token when none is set, keeps it across reconfigurations, and accepts it', async () => {
    const capture = new DiagCapture().install();
    try {
      const first = harness.instrumentation.token;
      harness.configure({ token: 'in-between' });
      harness.configure({ trustedProxies: TRUST_LOOPBACK, clientAddressHeader: 'x-real-ip' });
      const token = harness.instrumentation.token;
      expect(token).to.match(/^[0-9a-f-]{36}$/);
      // Clients that learnt the generated token keep it; the operator was told it once, at the start.
      expect(token).to.equal(first);
      expect(capture.messages.filter((m) => m.message.includes(token))).to.deep.equal([]);
      const accepted = await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Token': token, ...REMOTE });
      expect(outputHeader(accepted.headers)).to.be.an('object');
      const refused = await send(`${base}/`, { 'X-Request-Debug': '*', ...REMOTE });
      expect(outputHeader(refused.headers)).to.equal(undefined);
    } finally {
      capture.uninstall();
    }
  });

  it('uses a token set in the configuration or in DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN', async () => {
    harness.configure({ token: 'from-config', trustedProxies: TRUST_LOOPBACK, clientAddressHeader: 'x-real-ip' });
    expect(harness.instrumentation.token).to.equal('from-config');
    process.env.DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN = 'from-env';
    harness.configure({ token: 'from-config', trustedProxies: TRUST_LOOPBACK, clientAddressHeader: 'x-real-ip' });
    expect(harness.instrumentation.token).to.equal('from-env');
    const reply = await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Token': 'from-env', ...REMOTE });
    expect(outputHeader(reply.headers)).to.be.an('object');
  });

  it('is on by default and can be switched off by configuration or by DYNAMIC_HOOKS_REQUEST_DEBUG=off', async () => {
    harness.configure({});
    expect(outputHeader((await send(`${base}/`, { 'X-Request-Debug': '*' })).headers)).to.be.an('object');
    expect(isGroupEnabled('timing:auth')).to.equal(true);

    harness.configure({ requestDebug: false });
    expect(outputHeader((await send(`${base}/`, { 'X-Request-Debug': '*' })).headers)).to.equal(undefined);
    expect(isGroupEnabled('timing:auth')).to.equal(false);

    process.env.DYNAMIC_HOOKS_REQUEST_DEBUG = 'off';
    harness.configure({ requestDebug: true });
    harness.reset();
    expect(outputHeader((await send(`${base}/`, { 'X-Request-Debug': '*' })).headers)).to.equal(undefined);
    expect(harness.spans()).to.deep.equal([]);
  });

  it('stops and resumes with disable() and enable()', async () => {
    harness.configure({});
    harness.instrumentation.disable();
    expect(outputHeader((await send(`${base}/`, { 'X-Request-Debug': '*' })).headers)).to.equal(undefined);
    expect(listGroups().find((g) => g.name === 'timing:auth')?.alwaysEnabled).to.equal(false);
    harness.instrumentation.enable();
    expect(outputHeader((await send(`${base}/`, { 'X-Request-Debug': '*' })).headers)).to.be.an('object');
  });

  it("speaks Kong's headers with headerPrefix X-Kong-Request-Debug", async () => {
    harness.configure({ headerPrefix: 'X-Kong-Request-Debug' });
    const kong = await send(`${base}/`, { 'X-Kong-Request-Debug': '*' });
    expect(outputHeader(kong.headers, 'x-kong-request-debug-output')).to.be.an('object');
    expect(kong.headers).to.not.have.property('x-request-debug-output');
    const other = await send(`${base}/`, { 'X-Request-Debug': '*' });
    expect(other.headers).to.not.have.property('x-kong-request-debug-output');
    expect(seen[0]).to.not.have.property('x-kong-request-debug');
    expect(seen[1]['x-request-debug'], 'another prefix is an ordinary header').to.equal('*');
  });

  it('rejects bad configuration with a clear error, and keeps the configuration it had', async () => {
    harness.configure({ headerPrefix: 'X-Still-Valid' });
    expect(() => harness.configure({ headerPrefix: 'not a header' })).to.throw(TypeError, /headerPrefix/);
    expect(() => harness.configure({ trustedProxies: ['nonsense'] })).to.throw(TypeError, /trustedProxies: 'nonsense'/);
    expect(() => harness.configure({ trustedProxies: ['10.0.0.0/33'] })).to.throw(RangeError, /prefix length/);
    expect(() => harness.configure({ token: '' })).to.throw(TypeError, /token/);
    expect(() => harness.configure({ requestDebug: 'yes' as never })).to.throw(TypeError, /requestDebug/);
    const reply = await send(`${base}/`, { 'X-Still-Valid': '*' });
    expect(outputHeader(reply.headers, 'x-still-valid-output')).to.be.an('object');
  });

  it('opens a request scope for every request by default, so the application can enable groups per request', async () => {
    harness.configure({});
    await send(`${base}/`);
    expect(scopeErrors).to.deep.equal([null]);
  });

  it('with scopeEveryRequest: false, opens request scopes only for requests with a debug header', async () => {
    harness.configure({ scopeEveryRequest: false });
    await send(`${base}/`);
    const debugged = await send(`${base}/`, { 'X-Request-Debug': '*' });
    expect(outputHeader(debugged.headers)).to.be.an('object');
    expect(scopeErrors).to.have.length(2);
    expect(String(scopeErrors[0])).to.match(/outside a request scope/);
    expect(scopeErrors[1]).to.equal(null);
  });

  it('covers node:https servers too', async () => {
    harness.configure({});
    const { cert, key } = testCertificate();
    const secure = https.createServer({ cert, key }, (_req, res) => {
      timing.enterContext('secure_handler');
      timing.leaveContext();
      res.end('secure');
    });
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    const { port } = secure.address() as AddressInfo;
    try {
      const reply = await new Promise<http.IncomingMessage & { body?: string }>((resolve, reject) => {
        https
          .get(`https://127.0.0.1:${port}/`, { ca: cert, headers: { 'X-Request-Debug': '*' }, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res));
          })
          .on('error', reject);
      });
      const tree = outputHeader(reply.headers) as { child: Record<string, unknown> };
      expect(tree.child).to.include.keys('rewrite', 'secure_handler', 'header_filter');
    } finally {
      secure.closeAllConnections();
      await new Promise((resolve) => secure.close(resolve));
    }
  });
});
