import { expect } from 'chai';
import net from 'node:net';
import { disableByDefault, hook, isGroupEnabled, startAdminServer, type AdminServer } from '../../src';
import { adminRequest } from '../admin/admin-client';

const TOKEN = 'admin-slow-clients-token-5e1f';
const GROUP = 'admin_slow_body';

/** How a raw connection ended. */
interface Ending {
  /** Milliseconds from connecting to the socket's close, or undefined if still open at `giveUpMs`. */
  readonly closedAfterMs: number | undefined;
  /** What the server sent before closing. */
  readonly received: string;
}

/**
 * A raw client that sends `first` at once, then `trickle` one byte every
 * `intervalMs`, and reports when the server closed the connection. It
 * gives up (and closes) after `giveUpMs`.
 */
function slowClient(port: number, first: string, trickle: string, intervalMs: number, giveUpMs: number) {
  const socket = net.connect(port, '127.0.0.1');
  const connected = new Promise<void>((resolve) => socket.once('connect', resolve));
  const ending = new Promise<Ending>((resolve) => {
    const started = Date.now();
    let received = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (first !== '') socket.write(first);
      timer = setInterval(() => {
        if (socket.writable) socket.write(trickle[sent++ % trickle.length]);
      }, intervalMs);
    });
    const giveUp = setTimeout(() => {
      resolve({ closedAfterMs: undefined, received });
      socket.destroy();
    }, giveUpMs);
    socket.once('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, received });
    });
  });
  return { socket, connected, ending };
}

describe('hardening: the admin server bounds slow clients', () => {
  const started: AdminServer[] = [];
  const start = async (options: Partial<Parameters<typeof startAdminServer>[0]> = {}): Promise<AdminServer> => {
    const admin = await startAdminServer({ token: TOKEN, ...options });
    started.push(admin);
    return admin;
  };
  let unhook: () => void;
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

  it('cuts off a slowloris client (a header byte a second) within headersTimeoutMs', async () => {
    const admin = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const headers =
      'GET /dynamic-hooks/groups HTTP/1.1\r\nHost: admin\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const client = slowClient(admin.port, 'G', headers.slice(1), 1_000, 6_000);
    const { closedAfterMs, received } = await client.ending;
    expect(closedAfterMs, 'the slowloris connection was still open after 6 s').to.be.a('number');
    // The bound plus Node's checking interval (a quarter of it) and slack.
    expect(closedAfterMs).to.be.within(900, 2_000);
    expect(received).to.match(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection that sends nothing at all within headersTimeoutMs', async () => {
    const admin = await start({ headersTimeoutMs: 1_000 });
    const client = slowClient(admin.port, '', '', 60_000, 6_000);
    const { closedAfterMs } = await client.ending;
    expect(closedAfterMs, 'the silent connection was still open after 6 s').to.be.a('number');
    expect(closedAfterMs).to.be.below(2_000);
  });

  it('cuts off a client that sends its headers and trickles the body within requestTimeoutMs', async () => {
    const admin = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 1_500 });
    const head =
      `PUT /dynamic-hooks/groups/${GROUP} HTTP/1.1\r\nHost: admin\r\n` +
      `Authorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
    const client = slowClient(admin.port, head, '{"alwaysEnabled":true}    ', 300, 6_000);
    const { closedAfterMs, received } = await client.ending;
    expect(closedAfterMs, 'the trickling connection was still open after 6 s').to.be.a('number');
    expect(closedAfterMs).to.be.within(1_400, 2_600);
    expect(received).to.match(/^HTTP\/1\.1 408 /);
    expect(isGroupEnabled(GROUP)).to.equal(false);
  });

  it('closes idle keep-alive connections after keepAliveTimeoutMs', async () => {
    const admin = await start({ keepAliveTimeoutMs: 300 });
    const request = `GET /dynamic-hooks/groups HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`;
    const client = slowClient(admin.port, request, '', 60_000, 6_000);
    const { closedAfterMs, received } = await client.ending;
    expect(received).to.match(/^HTTP\/1\.1 200 /);
    expect(closedAfterMs).to.be.a('number').and.below(1_500);
  });

  it('refuses connections beyond maxConnections and serves again once slots free', async () => {
    const admin = await start({ maxConnections: 3, headersTimeoutMs: 1_500, requestTimeoutMs: 1_500 });
    const held = [0, 1, 2].map(() => slowClient(admin.port, 'G', 'ET /', 1_000, 10_000));
    await Promise.all(held.map((client) => client.connected));
    // Let the server accept all three before the fourth arrives.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const extra = slowClient(admin.port, 'G', 'ET /', 1_000, 3_000);
    const refused = await extra.ending;
    expect(refused.closedAfterMs, 'a connection beyond the cap stayed open').to.be.a('number').and.below(500);
    expect(refused.received).to.equal('');
    let failure: unknown;
    try {
      await adminRequest(`${admin.url}/groups`, { token: TOKEN });
    } catch (error) {
      failure = error;
    }
    expect(failure, 'a request beyond the cap was served').to.be.an('error');

    // The held connections are cut off by the headers timeout, freeing their slots.
    const endings = await Promise.all(held.map((client) => client.ending));
    for (const ending of endings) expect(ending.closedAfterMs).to.be.a('number').and.below(3_000);
    const served = await adminRequest(`${admin.url}/groups`, { token: TOKEN });
    expect(served.status).to.equal(200);
  });

  it('close() resolves at once while slow clients hold connections', async () => {
    const admin = await start();
    const held = [0, 1, 2, 3].map(() => slowClient(admin.port, 'G', 'ET /', 500, 10_000));
    await Promise.all(held.map((client) => client.connected));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = Date.now();
    await admin.close();
    expect(Date.now() - before).to.be.below(500);
    for (const { ending } of held) expect((await ending).closedAfterMs).to.be.a('number');
  });

  it('rejects bad limits with an error naming the option', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ headersTimeoutMs: 0 }, /options\.headersTimeoutMs must be from 1/],
      [{ requestTimeoutMs: '5s' }, /options\.requestTimeoutMs must be an integer, got "5s"/],
      [{ keepAliveTimeoutMs: 1.5 }, /options\.keepAliveTimeoutMs must be an integer/],
      [{ maxConnections: -1 }, /options\.maxConnections must be from 1/],
      [{ headersTimeoutMs: 3_000, requestTimeoutMs: 2_000 }, /options\.requestTimeoutMs \(2000\) must be at least/],
    ];
    for (const [options, message] of cases) {
      let failure: unknown;
      try {
        await startAdminServer({ token: TOKEN, ...options });
      } catch (error) {
        failure = error;
      }
      expect(failure, JSON.stringify(options)).to.be.instanceOf(Error).and.match(message);
    }
  });
});
