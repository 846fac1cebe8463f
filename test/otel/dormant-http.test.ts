import { context, propagation, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { expect } from 'chai';
import http from 'node:http';
import { alwaysEnable, disableByDefault, dormant, withGroupsEnabled } from '../../src';
import { close, listen } from '../helpers/http';
import { recordingProvider } from '../helpers/recording-provider';

describe('dormant(): HttpInstrumentation (client and server of node:http)', () => {
  const { exporter, provider } = recordingProvider();
  let instrumentation: HttpInstrumentation;
  let server: http.Server;
  let url: string;
  const traceparents: (string | undefined)[] = [];
  /**
   * Per server request: whether HttpInstrumentation ran on it. Its server
   * side binds the request to a context, which gives the request emitter
   * own listener methods; a dormant request keeps the prototype's.
   */
  const instrumentedRequests: boolean[] = [];

  /** A GET through http.get, as the instrumentation patches it (send() uses http.request). */
  const get = (path: string) =>
    new Promise<string>((resolve, reject) => {
      http
        .get(`${url}${path}`, { agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  const kinds = () =>
    exporter
      .getFinishedSpans()
      .map((span) => span.kind)
      .sort();

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    instrumentation = dormant(new HttpInstrumentation());
    instrumentation.setTracerProvider(provider);
    // node:http was loaded before: a require after enabling patches it, as an application's own would.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('http');
    server = http.createServer((req, res) => {
      traceparents.push(req.headers.traceparent as string | undefined);
      instrumentedRequests.push(Object.prototype.hasOwnProperty.call(req, 'on'));
      res.end(`hello ${req.url}`);
    });
    url = await listen(server);
  });
  after(async () => {
    disableByDefault('otel:http');
    instrumentation.disable();
    propagation.disable();
    await close(server);
  });
  beforeEach(() => {
    disableByDefault('otel:http');
    exporter.reset();
    traceparents.length = 0;
    instrumentedRequests.length = 0;
  });

  it("runs no part of the instrumentation while dormant, not even on a function's first call", async () => {
    // Functions of Node's built-in modules skip the gate's first-call probe.
    // These are the first calls of this instance's patched request and emit:
    const client = await new Promise<http.ClientRequest>((resolve, reject) => {
      const request = http.request(`${url}/first`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(request));
      });
      // The caller's own 'response' listener only: the instrumentation adds one of its own.
      expect(request.listenerCount('response')).to.equal(1);
      request.on('error', reject).end();
    });
    expect(client.listenerCount('response')).to.equal(0);
    expect(instrumentedRequests).to.deep.equal([false]);
    alwaysEnable('otel:http');
    await get('/enabled');
    expect(instrumentedRequests).to.deep.equal([false, true]);
  });

  it('creates no span and injects no traceparent while otel:http is dormant', async () => {
    expect(await get('/a')).to.equal('hello /a');
    expect(await get('/b')).to.equal('hello /b');
    expect(kinds()).to.deep.equal([]);
    expect(traceparents).to.deep.equal([undefined, undefined]);
  });

  it('traces the client call made where the group is enabled; the server request, not enabled, stays untraced', async () => {
    expect(await withGroupsEnabled('otel:http', () => get('/c'))).to.equal('hello /c');
    expect(kinds()).to.deep.equal([SpanKind.CLIENT]);
    const [client] = exporter.getFinishedSpans();
    expect(client.attributes).to.include({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
    expect(traceparents[0]).to.include(client.spanContext().spanId);
  });

  it('traces both sides, server as child of client, while enabled process-wide; nothing once disabled', async () => {
    alwaysEnable('otel:http');
    await get('/d');
    disableByDefault('otel:http');
    await get('/e');
    expect(kinds()).to.deep.equal([SpanKind.SERVER, SpanKind.CLIENT].sort());
    const client = exporter.getFinishedSpans().find((span) => span.kind === SpanKind.CLIENT);
    const serverSpan = exporter.getFinishedSpans().find((span) => span.kind === SpanKind.SERVER);
    expect(serverSpan?.parentSpanContext?.spanId).to.equal(client?.spanContext().spanId);
    expect(traceparents[1]).to.equal(undefined);
  });
});
