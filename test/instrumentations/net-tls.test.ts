import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { nodeAt, runInRequest, spanPath } from '../helpers/debugged';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { testCertificate } from '../helpers/tls-cert';
import { timingHarness } from '../helpers/timing-harness';

async function connectTcp(options: net.NetConnectOpts): Promise<void> {
  const socket = net.connect(options);
  await once(socket, 'connect');
  socket.destroy();
}

function connectTls(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options, () => resolve(socket));
    socket.on('error', reject);
  });
}

describe('NetInstrumentation (net and tls)', () => {
  const harness = timingHarness();
  const { cert, key } = testCertificate();
  let tcpServer: net.Server;
  let tcpPort: number;
  let tlsServer: tls.Server;
  let tlsPort: number;

  before(async () => {
    libraryInstrumentations();
    tcpServer = net.createServer((socket) => socket.end());
    tcpServer.listen(0, '127.0.0.1');
    await once(tcpServer, 'listening');
    tcpPort = (tcpServer.address() as net.AddressInfo).port;
    tlsServer = tls.createServer({ cert, key }, (socket) => socket.end('hi'));
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
  });
  after(() => {
    tcpServer.close();
    tlsServer.close();
  });
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('times net.connect as connections > tcp://host:port > connect, until connected', async () => {
    const { tree, spans } = await runInRequest(() => connectTcp({ host: '127.0.0.1', port: tcpPort }));
    const connect = nodeAt(tree, 'connections', `tcp://127.0.0.1:${tcpPort}`, 'connect');
    expect(connect.dangling).to.equal(undefined);
    expect(spanPath(spans, 'connect')).to.deep.equal([
      'request_debug GET',
      'connections',
      `tcp://127.0.0.1:${tcpPort}`,
      'connect',
    ]);
    expect(spans.find((s) => s.name === 'connect')?.attributes).to.include({
      'network.transport': 'tcp',
      'server.address': '127.0.0.1',
      'server.port': tcpPort,
      'network.peer.address': '127.0.0.1',
      'network.peer.port': tcpPort,
    });
  });

  it('names a unix socket connection by its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynamic-hooks-unix-'));
    const path = join(dir, 'server.sock');
    const unixServer = net.createServer((socket) => socket.end());
    unixServer.listen(path);
    await once(unixServer, 'listening');
    try {
      const { tree } = await runInRequest(() => connectTcp({ path }));
      expect(nodeAt(tree, 'connections', `unix:${path}`, 'connect').total_time).to.be.a('number');
    } finally {
      unixServer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('times a TLS connection: connect and sslhandshake side by side, with sni and attempt_reuse_session', async () => {
    const { tree, spans } = await runInRequest(async () => {
      const first = await connectTls({ host: '127.0.0.1', port: tlsPort, ca: cert, servername: 'localhost' });
      const session = first.getSession();
      first.destroy();
      const second = await connectTls({ host: '127.0.0.1', port: tlsPort, ca: cert, servername: 'localhost', session });
      second.destroy();
    });
    const destination = nodeAt(tree, 'connections', `tcp://127.0.0.1:${tlsPort}`);
    expect(Object.keys(destination.child ?? {})).to.have.members(['connect', 'sslhandshake']);
    const handshake = nodeAt(destination, 'sslhandshake');
    expect(handshake.sni).to.equal('localhost');
    expect(handshake.attempt_reuse_session, 'the second connection offered its session').to.equal(true);
    const handshakes = spans.filter((s) => s.name === 'sslhandshake');
    expect(handshakes.map((s) => s.attributes.attempt_reuse_session)).to.deep.equal([false, true]);
    expect(spanPath(spans, 'sslhandshake')).to.deep.equal([
      'request_debug GET',
      'connections',
      `tcp://127.0.0.1:${tlsPort}`,
      'sslhandshake',
    ]);
  });

  it('ends a failed TLS handshake as failed and gives the caller the same error', async () => {
    const { tree, spans, error } = await runInRequest(() =>
      connectTls({ host: '127.0.0.1', port: tlsPort, servername: 'localhost' }),
    );
    expect((error as NodeJS.ErrnoException).code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(nodeAt(tree, 'connections', `tcp://127.0.0.1:${tlsPort}`, 'sslhandshake').dangling).to.equal(undefined);
    const handshake = spans.find((s) => s.name === 'sslhandshake');
    expect(handshake?.status.code).to.equal(2);
    expect(handshake?.attributes['error.type']).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('ends a refused connection as failed and gives the caller the same error', async () => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    const { tree, spans, error } = await runInRequest(() => connectTcp({ host: '127.0.0.1', port }));
    expect((error as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
    expect(nodeAt(tree, 'connections', `tcp://127.0.0.1:${port}`, 'connect').dangling).to.equal(undefined);
    expect(spans.find((s) => s.name === 'connect')?.status.code).to.equal(2);
  });

  it('records nothing for a request that is not debugged', async () => {
    const { tree } = await runInRequest(() => connectTcp({ host: '127.0.0.1', port: tcpPort }), false);
    expect(tree).to.equal(undefined);
    expect(harness.spans()).to.deep.equal([]);
  });
});
