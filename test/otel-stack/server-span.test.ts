import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import http from 'node:http';
import { close, listen, send } from '../helpers/http';
import { eventually, timingHarness } from '../helpers/timing-harness';

describe('the root span as the request’s SERVER span (no HTTP server instrumentation)', () => {
  const harness = timingHarness();
  let server: http.Server;
  let url: string;

  beforeEach(async () => {
    harness.configure({});
    harness.reset();
    server = http.createServer((req, res) => {
      res.statusCode = req.url === '/fail' ? 503 : 201;
      res.end();
    });
    url = await listen(server);
  });
  afterEach(async () => {
    server.closeAllConnections();
    await close(server);
  });

  async function rootFor(path: string, headers: Record<string, string> = {}) {
    await send(`${url}${path}`, { 'X-Request-Debug': '*', ...headers });
    await eventually(() => harness.spans().some((span) => span.name === 'request_debug GET'));
    return harness.spans().find((span) => span.name === 'request_debug GET');
  }

  it('carries the HTTP server conventions and the response status', async () => {
    const root = await rootFor('/ok?q=1', { 'User-Agent': 'matrix/1' });
    expect(root?.kind).to.equal(SpanKind.SERVER);
    expect(root?.instrumentationScope.name).to.equal('dynamic-hooks');
    expect(root?.attributes).to.include({
      'http.request.method': 'GET',
      'url.scheme': 'http',
      'url.path': '/ok',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(url).port),
      'client.address': '127.0.0.1',
      'user_agent.original': 'matrix/1',
      'http.response.status_code': 201,
      'dynamic_hooks.request_debug': true,
    });
    expect(root?.attributes['dynamic_hooks.request_id']).to.be.a('string');
    expect(root?.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('has status ERROR on a 5xx response', async () => {
    const root = await rootFor('/fail');
    expect(root?.attributes['http.response.status_code']).to.equal(503);
    expect(root?.status.code).to.equal(SpanStatusCode.ERROR);
  });
});
