// The gateway command (examples/gateway/main.ts) as a real process: started
// from a configuration file, in front of the real demo upstream, exporting to
// a real OTLP receiver, stopped by a real SIGTERM.
import { expect } from 'chai';
import http from 'node:http';
import { connect } from 'node:net';
import { createUpstream } from '../../examples/gateway/upstream';
import type { Tree } from '../helpers/debugged';
import { close, listen, send } from '../helpers/http';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { eventually, parseLogOutput } from '../helpers/timing-harness';
import { checkBuilt, configFolder, GATEWAY_BUILT, GATEWAY_TS, gatewaysOfSuite } from './gateway-command';

const TOKEN = 'b0f3c1de-5d2e-4c8e-9a57-0c2f4a8e1b11';

describe('examples/gateway: the gateway command', function () {
  this.timeout(60_000);
  const files = configFolder();
  const start = gatewaysOfSuite();
  let upstream: http.Server;
  let upstreamPort: number;
  let deadPort: number;
  let receiver: OtlpReceiver;
  let upstreamRequests: string[];

  before(async () => {
    checkBuilt();
    upstream = createUpstream();
    upstream.on('request', (req: http.IncomingMessage) => upstreamRequests.push(req.url ?? ''));
    upstreamPort = Number(new URL(await listen(upstream)).port);
    const dead = http.createServer();
    deadPort = Number(new URL(await listen(dead)).port);
    await close(dead);
    receiver = await new OtlpReceiver().start();
  });
  after(async () => {
    await close(upstream);
    await receiver.stop();
  });
  beforeEach(() => {
    upstreamRequests = [];
  });

  function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      listen: { host: '127.0.0.1', port: 0 },
      services: {
        flaky: { targets: [`localhost:${deadPort}`, `localhost:${upstreamPort}`] },
        slow: { url: `http://localhost:${upstreamPort}/slow` },
      },
      routes: [
        { name: 'api', paths: ['/api'], service: 'flaky', workspace: 'ws-api' },
        { name: 'slow', paths: ['/slow'], service: 'slow' },
      ],
      ...extra,
    };
  }

  const otlpEnv = (): NodeJS.ProcessEnv => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Spans wait in the batch processor until the shutdown exports them.
    OTEL_BSP_SCHEDULE_DELAY: '600000',
  });

  it('starts from a config file, serves a debugged request through the balancer retry, logs to stdout', async () => {
    const gateway = start(GATEWAY_TS, ['--config', files.write('serve.json', config())]);
    const base = await gateway.listening();
    expect(gateway.stdout).to.match(
      /^gateway: listening on http:\/\/127\.0\.0\.1:\d+ \(.*serve\.json: 2 routes, 2 services; no Redis; spans not exported\)$/m,
    );

    const reply = await send(`${base}/api/echo`, { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' });
    expect(reply.status).to.equal(200);
    expect(JSON.parse(reply.body)).to.include({ url: '/echo' });
    const tree = JSON.parse(reply.headers['x-request-debug-output'] as string) as Tree;
    expect(tree.workspace_id).to.equal('ws-api');
    expect(tree.dangling).to.equal(undefined);
    expect(tree.child?.balancer.tries).to.equal(2);
    expect(tree.child?.balancer.child?.try_2.retrying_after).to.equal('ECONNREFUSED');

    await eventually(() => gateway.logLines().length > 0, 5_000);
    const logged = parseLogOutput(gateway.logLines()) as Tree;
    expect(logged.request_id).to.equal(tree.request_id);
    expect(logged.child).to.include.keys('balancer', 'upstream', 'body_filter', 'log');
  });

  it('takes the timing settings from the file, and DYNAMIC_HOOKS_* from the environment over them', async () => {
    const file = files.write(
      'timing.json',
      config({
        timing: {
          headerPrefix: 'X-Kong-Request-Debug',
          token: 'the-file-token',
          trustedProxies: ['127.0.0.1/32', '::1'],
          clientAddressHeader: 'x-real-ip',
        },
      }),
    );
    const gateway = start(GATEWAY_TS, ['--config', file], { DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN });
    const base = await gateway.listening();
    // A client behind the trusted proxy, not on the loopback: it needs the token.
    const remote = (token: string) => ({
      'X-Kong-Request-Debug': '*',
      'X-Real-IP': '1.1.1.1',
      'X-Kong-Request-Debug-Token': token,
    });
    const withEnvToken = await send(`${base}/api/`, remote(TOKEN));
    expect(withEnvToken.headers['x-kong-request-debug-output']).to.be.a('string');
    const withFileToken = await send(`${base}/api/`, remote('the-file-token'));
    expect(withFileToken.headers).to.not.have.property('x-kong-request-debug-output');
    const defaultPrefix = await send(`${base}/api/`, { 'X-Request-Debug': '*' });
    expect(defaultPrefix.headers).to.not.have.property('x-request-debug-output');
  });

  it('on SIGTERM: stops accepting, the request in flight finishes, spans are exported, exit 0', async () => {
    const before = receiver.spans.length;
    const gateway = start(GATEWAY_TS, ['--config', files.write('stop.json', config())], otlpEnv());
    const base = await gateway.listening();
    expect(gateway.stdout).to.contain('spans to OTLP http/json');
    // /slow answers its first byte after 250 ms and its last 400 ms later.
    const started = Date.now();
    const inFlight = send(`${base}/slow`, { 'X-Request-Debug': '*' });
    await eventually(() => upstreamRequests.some((url) => url.startsWith('/slow')), 5_000);
    gateway.child.kill('SIGTERM');
    await gateway.waitFor(/^gateway: SIGTERM: stopping/m);
    // No new connections once it stops accepting.
    const port = Number(new URL(base).port);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused, 'a new connection after SIGTERM is refused').to.equal(true);

    const reply = await inFlight;
    expect(reply.status).to.equal(200);
    expect(reply.body).to.equal('first byte after 250 ms; last byte 400 ms later\n');
    expect(Date.now() - started).to.be.at.least(600);
    expect(await gateway.exited).to.deep.equal({ code: 0, signal: null });
    expect(gateway.stdout).to.match(/^gateway: stopped \(spans exported\)$/m);

    const traceId = (JSON.parse(reply.headers['x-request-debug-output'] as string) as Tree).trace_id;
    const exported = receiver.spans.slice(before).filter((span) => span.traceId === traceId);
    expect(exported.map((span) => span.name)).to.include.members(['access', 'balancer', 'upstream', 'log']);
    expect(exported.every((span) => span.serviceName === 'dynamic-hooks-gateway')).to.equal(true);
  });

  it('the built command (node dist/examples/gateway/main.js) serves and stops on SIGINT with exit 0', async () => {
    const gateway = start(GATEWAY_BUILT, ['--config', files.write('built.json', config())]);
    const base = await gateway.listening();
    const reply = await send(`${base}/api/`, { 'X-Request-Debug': '*' });
    expect(reply.headers['x-request-debug-output']).to.be.a('string');
    gateway.child.kill('SIGINT');
    expect(await gateway.exited).to.deep.equal({ code: 0, signal: null });
    expect(gateway.stdout).to.match(/^gateway: stopped$/m);
  });

  it('--port overrides the file, and a port in use is one line on stderr, exit 1', async () => {
    const blocker = http.createServer();
    const port = Number(new URL(await listen(blocker)).port);
    try {
      const gateway = start(GATEWAY_BUILT, ['--config', files.write('port.json', config()), '--port', String(port)]);
      expect(await gateway.exited).to.deep.equal({ code: 1, signal: null });
      expect(gateway.stderr).to.contain(`gateway: cannot listen on 127.0.0.1:${port}: address in use\n`);
      expect(gateway.stderr).to.not.match(/^\s+at /m);
    } finally {
      await close(blocker);
    }
  });

  it('a bad command line: the usage, exit 2', async () => {
    const gateway = start(GATEWAY_BUILT, []);
    expect(await gateway.exited).to.deep.equal({ code: 2, signal: null });
    expect(gateway.stderr).to.match(/^gateway: --config <file> is required\nUsage: gateway --config <file.json>/);
  });
});
