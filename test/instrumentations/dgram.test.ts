import { expect } from 'chai';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { nodeAt, runInRequest, spanPath } from '../helpers/debugged';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { timingHarness } from '../helpers/timing-harness';

describe('DgramInstrumentation', () => {
  const harness = timingHarness();
  let peer: dgram.Socket;
  let port: number;

  before(async () => {
    libraryInstrumentations();
    peer = dgram.createSocket('udp4');
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
    port = peer.address().port;
  });
  after(() => peer.close());
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('times Socket#connect as connections > udp://host:port > setpeername, with a callback', async () => {
    const { tree, spans } = await runInRequest(async () => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
      socket.close();
    });
    expect(nodeAt(tree, 'connections', `udp://127.0.0.1:${port}`, 'setpeername').dangling).to.equal(undefined);
    expect(spanPath(spans, 'setpeername')).to.deep.equal([
      'request_debug GET',
      'connections',
      `udp://127.0.0.1:${port}`,
      'setpeername',
    ]);
    expect(spans.find((s) => s.name === 'setpeername')?.attributes['network.transport']).to.equal('udp');
  });

  it('times it without a callback, until the connect event, and the socket sends to its peer', async () => {
    const { tree } = await runInRequest(async () => {
      const socket = dgram.createSocket('udp4');
      socket.connect(port);
      await once(socket, 'connect');
      const received = once(peer, 'message');
      socket.send('ping');
      const [message] = (await received) as [Buffer];
      socket.close();
      return message.toString();
    });
    expect(nodeAt(tree, 'connections', `udp://127.0.0.1:${port}`, 'setpeername').total_time).to.be.a('number');
  });

  it('ends a failed connect as failed and hands the error to the callback', async () => {
    const { tree, spans, result } = await runInRequest(async () => {
      const socket = dgram.createSocket('udp4');
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        // Node passes the lookup error to the callback, which its types do not declare.
        socket.connect(port, 'no-such-host.invalid', ((error?: NodeJS.ErrnoException) => resolve(error)) as () => void);
      });
      socket.close();
      return error;
    });
    expect(result?.code).to.match(/ENOTFOUND|EAI_AGAIN/);
    expect(nodeAt(tree, 'connections', `udp://no-such-host.invalid:${port}`, 'setpeername').dangling).to.equal(
      undefined,
    );
    expect(spans.find((s) => s.name === 'setpeername')?.status.code).to.equal(2);
  });

  it('records nothing for a request that is not debugged', async () => {
    await runInRequest(async () => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
      socket.close();
    }, false);
    expect(harness.spans()).to.deep.equal([]);
  });
});
