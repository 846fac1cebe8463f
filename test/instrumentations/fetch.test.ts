import { expect } from 'chai';
import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import { close, listen } from '../helpers/http';
import { nodeAt, runInRequest, spanPath } from '../helpers/debugged';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { releaseRequestScopes } from '../helpers/scopes';
import { eventually, timingHarness } from '../helpers/timing-harness';
import { SUBSCRIPTION_LINGER_MS } from '../../src/core/group-state';

describe('UndiciInstrumentation (fetch)', () => {
  const harness = timingHarness();
  let upstream: http.Server;
  let upstreamUrl: string;

  before(async () => {
    libraryInstrumentations();
    upstream = http.createServer((req, res) => {
      if (req.url === '/slow-body') {
        res.write('a');
        setTimeout(() => res.end('b'), 120);
      } else {
        res.end('fetched');
      }
    });
    upstreamUrl = await listen(upstream);
  });
  after(() => close(upstream));
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('times fetch as external_http > http://host:port > http_request, until the body is read', async () => {
    const { tree, spans, result } = await runInRequest(async () => {
      const response = await fetch(`${upstreamUrl}/slow-body`);
      return response.text();
    });
    expect(result).to.equal('ab');
    const request = nodeAt(tree, 'external_http', upstreamUrl, 'http_request');
    expect(request.dangling).to.equal(undefined);
    expect(request.total_time).to.be.at.least(100);
    expect(spanPath(spans, 'http_request')).to.deep.equal([
      'request_debug GET',
      'external_http',
      upstreamUrl,
      'http_request',
    ]);
    expect(spans.find((s) => s.name === 'http_request')?.attributes).to.include({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
  });

  it('ends a refused fetch as failed and rejects the caller as before', async () => {
    const closed = http.createServer();
    const url = await listen(closed);
    await close(closed);
    const { tree, spans, error } = await runInRequest(() => fetch(`${url}/`));
    expect(error).to.be.instanceOf(TypeError);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
    expect(nodeAt(tree, 'external_http', url, 'http_request').dangling).to.equal(undefined);
    expect(spans.find((s) => s.name === 'http_request')?.status.code).to.equal(2);
  });

  it('records nothing for a request that is not debugged', async () => {
    const { tree, result } = await runInRequest(async () => (await fetch(upstreamUrl)).text(), false);
    expect(tree).to.equal(undefined);
    expect(result).to.equal('fetched');
    expect(harness.spans()).to.deep.equal([]);
  });

  it("listens to undici's channels only while the timing group is enabled somewhere", async () => {
    const channel = diagnosticsChannel.channel('undici:request:create');
    await releaseRequestScopes(); // scopes other suites left to the garbage collector
    await eventually(() => !channel.hasSubscribers, SUBSCRIPTION_LINGER_MS + 2000);
    await runInRequest(async () => {
      expect(channel.hasSubscribers, 'during a debugged request').to.equal(true);
      return (await fetch(upstreamUrl)).text();
    });
    await eventually(() => !channel.hasSubscribers, SUBSCRIPTION_LINGER_MS + 2000);
  });
});
