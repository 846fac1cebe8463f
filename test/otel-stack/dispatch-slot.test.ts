import { expect } from 'chai';
import http from 'node:http';
import { close, listen, send } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';

describe('the debugged request being dispatched, as the sampler sees it', () => {
  const harness = timingHarness();
  let server: http.Server;
  let url: string;

  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });
  afterEach(async () => {
    server.closeAllConnections();
    await close(server);
  });

  it('ends with the turn that parsed the request: a root span a later turn starts is the base sampler’s', async () => {
    const started: Promise<void>[] = [];
    server = http.createServer((_req, res) => res.end('never: checkContinue takes it'));
    // The request is parsed and published, but emitted as 'checkContinue', not 'request'.
    server.on('checkContinue', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      started.push(
        new Promise((resolve) => {
          setImmediate(() => {
            harness.provider.getTracer('background').startSpan('background job').end();
            res.end('ok');
            resolve();
          });
        }),
      );
    });
    url = await listen(server);
    const reply = await send(url, { 'X-Request-Debug': '*', Expect: '100-continue' });
    expect(reply.body).to.equal('ok');
    await Promise.all(started);
    expect(harness.spans().map((span) => span.name)).to.not.include('background job');
  });
});
