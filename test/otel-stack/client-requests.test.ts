import { propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CBaggagePropagator, W3CTraceContextPropagator, CompositePropagator } from '@opentelemetry/core';
import { UndiciInstrumentation as OtelUndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import { expect } from 'chai';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignedGroupsPropagator } from '../../src';
import { nodeAt, runInRequest, spanPath } from '../helpers/debugged';
import { close, listen } from '../helpers/http';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { testCertificate } from '../helpers/tls-cert';
import { timingHarness } from '../helpers/timing-harness';

/** What an upstream saw of one request. */
interface Received {
  readonly url: string;
  /** Raw header names and values, as they arrived (so that duplicates show). */
  readonly rawHeaders: string[];
}

/** A fresh upstream (a new origin, so undici and the agent open a new connection) recording what it receives. */
async function recordingUpstream(): Promise<{
  url: string;
  port: number;
  received: Received[];
  stop: () => Promise<void>;
}> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    received.push({ url: req.url ?? '', rawHeaders: req.rawHeaders });
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('upstream');
  });
  const url = await listen(server);
  return { url, port: Number(new URL(url).port), received, stop: () => close(server) };
}

function headerValues(received: Received, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < received.rawHeaders.length; i += 2) {
    if (received.rawHeaders[i].toLowerCase() === name) values.push(received.rawHeaders[i + 1]);
  }
  return values;
}

function fetchText(url: string): Promise<string> {
  return fetch(url).then((response) => response.text());
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const clients = { fetch: fetchText, 'http.get': httpGet } as const;

function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (span === undefined) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

describe('outgoing requests inside the OpenTelemetry stack (http.get, fetch)', () => {
  const harness = timingHarness();
  let instrumentations: ReturnType<typeof libraryInstrumentations>;

  before(() => {
    instrumentations = libraryInstrumentations();
    propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: [
          new W3CTraceContextPropagator(),
          new W3CBaggagePropagator(),
          new SignedGroupsPropagator({ token: 'client-test-token' }),
        ],
      }),
    );
  });
  after(() => {
    propagation.disable();
  });
  beforeEach(() => {
    // A debug request also enables (and propagates) every dormant `otel:*` group the process knows, and test
    // files run before this one may have left some (dormant-pg's `otel:pg`): the signed groups asserted here
    // are timing's alone.
    harness.configure({ otelGroups: 'none' });
    harness.reset();
  });

  describe('fetch with the Net and Undici instrumentations enabled together', () => {
    it("nests undici's connection under the fetch's http_request, as http.get's", async () => {
      for (const [name, get] of Object.entries(clients)) {
        const upstream = await recordingUpstream();
        try {
          const { tree, spans, result } = await runInRequest(() => get(`${upstream.url}/`));
          expect(result, name).to.equal('upstream');
          const host = `tcp://127.0.0.1:${upstream.port}`;
          expect(tree?.child, `${name}: no connection at the root`).to.not.have.property('connections');
          const connect = nodeAt(tree, 'external_http', upstream.url, 'http_request', 'connections', host, 'connect');
          expect(connect.total_time, name).to.be.a('number');
          expect(spanPath(spans, 'connect'), name).to.deep.equal([
            'request_debug GET',
            'external_http',
            upstream.url,
            'http_request',
            'connections',
            host,
            'connect',
          ]);
        } finally {
          await upstream.stop();
        }
      }
    });

    it("nests an https fetch's TCP connect and TLS handshake under its http_request", async () => {
      const { cert, key } = testCertificate();
      const secure = https.createServer({ cert, key }, (_req, res) => res.end('secure'));
      await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
      const { port } = secure.address() as AddressInfo;
      const url = `https://127.0.0.1:${port}`;
      // Node's fetch takes no CA: the test certificate is self-signed.
      const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
      try {
        const { tree, spans, result } = await runInRequest(() => fetchText(`${url}/`));
        expect(result).to.equal('secure');
        expect(tree?.child).to.not.have.property('connections');
        const destination = nodeAt(
          tree,
          'external_http',
          url,
          'http_request',
          'connections',
          `tcp://127.0.0.1:${port}`,
        );
        expect(nodeAt(destination, 'connect').total_time).to.be.a('number');
        expect(nodeAt(destination, 'sslhandshake').total_time).to.be.a('number');
        expect(spanPath(spans, 'sslhandshake').slice(0, 4)).to.deep.equal([
          'request_debug GET',
          'external_http',
          url,
          'http_request',
        ]);
      } finally {
        if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
        else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
        secure.closeAllConnections();
        await new Promise((resolve) => secure.close(resolve));
      }
    });

    it('nests each of concurrent fetches to one origin with its own connection', async () => {
      const upstream = await recordingUpstream();
      try {
        const { tree, spans } = await runInRequest(() =>
          Promise.all([1, 2, 3].map((i) => fetchText(`${upstream.url}/${i}`))),
        );
        const host = `tcp://127.0.0.1:${upstream.port}`;
        expect(tree?.child).to.not.have.property('connections');
        const request = nodeAt(tree, 'external_http', upstream.url, 'http_request');
        expect(nodeAt(request, 'connections', host, 'connect').total_time).to.be.a('number');
        const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
        const connects = spans.filter((s) => s.name === 'connect');
        expect(connects).to.have.length(3);
        for (const connect of connects) {
          // connect < tcp://... < connections < http_request
          let span: ReadableSpan | undefined = connect;
          for (let i = 0; i < 3; i++) span = byId.get(span?.parentSpanContext?.spanId ?? '');
          expect(span?.name).to.equal('http_request');
        }
      } finally {
        await upstream.stop();
      }
    });
  });

  describe('http_request as the CLIENT span, with the HTTP client conventions', () => {
    for (const [name, get] of Object.entries(clients)) {
      it(`${name}: CLIENT, method, url.full, server.*, status code; ERROR from 400 on`, async () => {
        const upstream = await recordingUpstream();
        try {
          const ok = await runInRequest(() => get(`${upstream.url}/ok?q=1`));
          const span = spanNamed(ok.spans, 'http_request');
          expect(span.kind).to.equal(SpanKind.CLIENT);
          expect(span.attributes).to.include({
            [ATTR_HTTP_REQUEST_METHOD]: 'GET',
            [ATTR_URL_FULL]: `${upstream.url}/ok?q=1`,
            [ATTR_SERVER_ADDRESS]: '127.0.0.1',
            [ATTR_SERVER_PORT]: upstream.port,
            [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200,
          });
          expect(span.status.code).to.equal(SpanStatusCode.UNSET);
          expect(ok.spans.filter((s) => s.kind === SpanKind.CLIENT)).to.have.length(1);

          const missing = await runInRequest(() => get(`${upstream.url}/missing`));
          const failed = spanNamed(missing.spans, 'http_request');
          expect(failed.status.code).to.equal(SpanStatusCode.ERROR);
          expect(failed.attributes).to.include({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: 404, [ATTR_ERROR_TYPE]: '404' });
        } finally {
          await upstream.stop();
        }
      });
    }
  });

  describe('propagation of a debugged request to the service it calls', () => {
    for (const [name, get] of Object.entries(clients)) {
      it(`${name}: traceparent (parent: http_request) and the signed groups; nothing for an undebugged request`, async () => {
        const upstream = await recordingUpstream();
        try {
          const { tree, spans } = await runInRequest(() => get(`${upstream.url}/`));
          const [received] = upstream.received;
          const [traceparent] = headerValues(received, 'traceparent');
          expect(headerValues(received, 'traceparent')).to.have.length(1);
          const span = spanNamed(spans, 'http_request');
          expect(traceparent).to.equal(`00-${tree?.trace_id as string}-${span.spanContext().spanId}-01`);
          const baggage = headerValues(received, 'baggage');
          expect(baggage).to.have.length(1);
          expect(baggage[0]).to.match(/^dynamic-hooks\.groups=timing,dynamic-hooks\.sig=\d+\.[\w-]{43}$/);

          upstream.received.length = 0;
          const plain = await runInRequest(() => get(`${upstream.url}/`), false);
          expect(plain.tree).to.equal(undefined);
          expect(headerValues(upstream.received[0], 'traceparent')).to.deep.equal([]);
          expect(headerValues(upstream.received[0], 'baggage')).to.deep.equal([]);
        } finally {
          await upstream.stop();
        }
      });
    }

    it('https.get: a CLIENT span, its traceparent and the signed groups; nothing undebugged', async () => {
      const { cert, key } = testCertificate();
      const received: string[][] = [];
      const secure = https.createServer({ cert, key }, (req, res) => {
        received.push(req.rawHeaders);
        res.end('secure');
      });
      await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
      const url = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
      const get = () =>
        new Promise<void>((resolve, reject) => {
          https
            .get(`${url}/`, { ca: cert }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        });
      try {
        const { tree, spans } = await runInRequest(get);
        const span = spanNamed(spans, 'http_request');
        expect(span.kind).to.equal(SpanKind.CLIENT);
        const first = { url: '/', rawHeaders: received[0] };
        expect(headerValues(first, 'traceparent')).to.deep.equal([
          `00-${tree?.trace_id as string}-${span.spanContext().spanId}-01`,
        ]);
        expect(headerValues(first, 'baggage')[0]).to.contain('dynamic-hooks.sig=');
        await runInRequest(get, false);
        expect(headerValues({ url: '/', rawHeaders: received[1] }, 'traceparent')).to.deep.equal([]);
      } finally {
        secure.closeAllConnections();
        await new Promise((resolve) => secure.close(resolve));
      }
    });

    it('http.get: keeps a traceparent the application set, and adds nothing then', async () => {
      const upstream = await recordingUpstream();
      try {
        const own = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
        const { spans } = await runInRequest(
          () =>
            new Promise<void>((resolve, reject) => {
              http
                .get(`${upstream.url}/`, { headers: { TraceParent: own } }, (res) => {
                  res.resume();
                  res.on('end', resolve);
                })
                .on('error', reject);
            }),
        );
        expect(headerValues(upstream.received[0], 'traceparent')).to.deep.equal([own]);
        expect(headerValues(upstream.received[0], 'baggage')).to.deep.equal([]);
        expect(spanNamed(spans, 'http_request').kind).to.equal(SpanKind.INTERNAL);
      } finally {
        await upstream.stop();
      }
    });
  });

  describe("with OpenTelemetry's instrumentation-undici registered too", () => {
    let otelUndici: OtelUndiciInstrumentation;
    before(() => {
      otelUndici = new OtelUndiciInstrumentation();
      otelUndici.setTracerProvider(harness.provider);
      // Ours subscribes when a request is debugged: after theirs, as under NodeSDK.
      instrumentations.undici.disable();
      instrumentations.undici.enable();
    });
    after(() => {
      otelUndici.disable();
    });

    it('one CLIENT span (theirs), one traceparent and one baggage header, the connection still nested', async () => {
      const upstream = await recordingUpstream();
      try {
        const { tree, spans } = await runInRequest(() => fetchText(`${upstream.url}/`));
        const host = `tcp://127.0.0.1:${upstream.port}`;
        expect(tree?.child).to.not.have.property('connections');
        expect(nodeAt(tree, 'external_http', upstream.url, 'http_request', 'connections', host, 'connect')).to.be.an(
          'object',
        );
        const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT);
        expect(clientSpans.map((s) => s.name)).to.deep.equal(['GET']);
        expect(spanNamed(spans, 'http_request').kind).to.equal(SpanKind.INTERNAL);
        const [received] = upstream.received;
        expect(headerValues(received, 'traceparent')).to.deep.equal([
          `00-${tree?.trace_id as string}-${clientSpans[0].spanContext().spanId}-01`,
        ]);
        expect(headerValues(received, 'baggage')).to.have.length(1);
        expect(headerValues(received, 'baggage')[0]).to.contain('dynamic-hooks.sig=');
      } finally {
        await upstream.stop();
      }
    });
  });
});
