import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { expect } from 'chai';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { close, listen } from '../helpers/http';
import { nodeAt, runInRequest, spanPath } from '../helpers/debugged';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { testCertificate } from '../helpers/tls-cert';
import { timingHarness } from '../helpers/timing-harness';

/** GETs `url` with a fresh connection and reads the body. */
function get(url: string, options: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    client
      .get(url, { agent: false, ...options }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('HttpClientInstrumentation', () => {
  const harness = timingHarness();
  let upstream: http.Server;
  let upstreamUrl: string;
  let secure: https.Server;
  let secureUrl: string;
  const { cert, key } = testCertificate();

  before(async () => {
    libraryInstrumentations();
    upstream = http.createServer((req, res) => {
      if (req.url === '/slow-body') {
        res.write('first part;');
        setTimeout(() => res.end('second part'), 120);
      } else if (req.url === '/fail') {
        res.statusCode = 503;
        res.end('unavailable');
      } else {
        res.end('upstream says hi');
      }
    });
    upstreamUrl = await listen(upstream);
    secure = https.createServer({ cert, key }, (_req, res) => res.end('secure hi'));
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    secureUrl = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
  });
  after(async () => {
    await close(upstream);
    secure.closeAllConnections();
    await new Promise((resolve) => secure.close(resolve));
  });
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('times http.get as external_http > http://host:port > http_request, with the connection inside', async () => {
    const { tree, spans, result } = await runInRequest(() => get(`${upstreamUrl}/`));
    expect(result?.body).to.equal('upstream says hi');
    const destination = upstreamUrl.replace('http://', 'http://');
    const request = nodeAt(tree, 'external_http', destination, 'http_request');
    expect(request.dangling).to.equal(undefined);
    const port = new URL(upstreamUrl).port;
    expect(nodeAt(request, 'connections', `tcp://127.0.0.1:${port}`, 'connect').total_time).to.be.a('number');
    expect(spanPath(spans, 'http_request')).to.deep.equal([
      'request_debug GET',
      'external_http',
      destination,
      'http_request',
    ]);
    const span = spans.find((s) => s.name === 'http_request');
    expect(span?.attributes).to.include({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': Number(port),
      'http.response.status_code': 200,
    });
  });

  it('lasts until the response body has been read', async () => {
    const { tree, result } = await runInRequest(() => get(`${upstreamUrl}/slow-body`));
    expect(result?.body).to.equal('first part;second part');
    expect(nodeAt(tree, 'external_http', upstreamUrl, 'http_request').total_time).to.be.at.least(100);
  });

  it('times https.request with the TLS handshake (sni) beside the TCP connect', async () => {
    const { tree, result } = await runInRequest(() => get(`${secureUrl}/`, { ca: cert, servername: 'localhost' }));
    expect(result?.body).to.equal('secure hi');
    const request = nodeAt(tree, 'external_http', secureUrl, 'http_request');
    const port = new URL(secureUrl).port;
    const destination = nodeAt(request, 'connections', `tcp://127.0.0.1:${port}`);
    expect(Object.keys(destination.child ?? {})).to.have.members(['connect', 'sslhandshake']);
    expect(nodeAt(destination, 'sslhandshake')).to.include({ sni: 'localhost', attempt_reuse_session: false });
  });

  it('marks a 5xx response failed but ends it normally', async () => {
    const { tree, spans, result } = await runInRequest(() => get(`${upstreamUrl}/fail`));
    expect(result?.status).to.equal(503);
    expect(nodeAt(tree, 'external_http', upstreamUrl, 'http_request').dangling).to.equal(undefined);
    const span = spans.find((s) => s.name === 'http_request');
    expect(span?.status.code).to.equal(2);
    expect(span?.attributes['error.type']).to.equal('503');
  });

  it('ends a refused request as failed and gives the caller the same error', async () => {
    const closed = http.createServer();
    const url = await listen(closed);
    await close(closed);
    const { tree, spans, error } = await runInRequest(() => get(`${url}/`));
    expect((error as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
    expect(nodeAt(tree, 'external_http', url, 'http_request').dangling).to.equal(undefined);
    expect(spans.find((s) => s.name === 'http_request')?.status.code).to.equal(2);
    expect(spans.find((s) => s.name === 'connect')?.attributes['error.type']).to.equal('ECONNREFUSED');
  });

  it('leaves an unread response to Node (it is still discarded, the socket freed)', async () => {
    const { tree } = await runInRequest(
      () =>
        new Promise<number>((resolve, reject) => {
          const req = http.get(`${upstreamUrl}/`, { agent: false });
          req.on('error', reject);
          req.on('close', () => resolve(1));
        }),
    );
    expect(nodeAt(tree, 'external_http', upstreamUrl, 'http_request').dangling).to.equal(undefined);
  });

  it('records nothing for a request that is not debugged', async () => {
    const { tree, result } = await runInRequest(() => get(`${upstreamUrl}/`), false);
    expect(tree).to.equal(undefined);
    expect(result?.body).to.equal('upstream says hi');
    await sleep(10);
    expect(harness.spans()).to.deep.equal([]);
  });

  it("skips calls made with OpenTelemetry tracing suppressed (an exporter's own requests)", async () => {
    const { tree, spans, result } = await runInRequest(async () => {
      const suppressed = await context.with(suppressTracing(context.active()), () =>
        get(`${secureUrl}/`, { ca: cert }),
      );
      const traced = await get(`${upstreamUrl}/`);
      return { suppressed, traced };
    });
    expect(result?.suppressed.body).to.equal('secure hi');
    expect(result?.traced.body).to.equal('upstream says hi');
    expect(Object.keys(nodeAt(tree, 'external_http').child ?? {})).to.deep.equal([upstreamUrl]);
    expect(nodeAt(tree, 'external_http', upstreamUrl, 'http_request').total_time).to.be.a('number');
    expect(spans.filter((span) => span.name === 'http_request')).to.have.length(1);
  });
});
