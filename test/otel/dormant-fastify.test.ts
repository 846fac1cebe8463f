import { SpanKind } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AlwaysOnSampler, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import { alwaysEnable, disableByDefault, dormant, fastifyTiming, listGroups, RequestDebugSampler } from '../../src';
import { nodeAt, type Tree } from '../helpers/debugged';
import { send } from '../helpers/http';
import { eventually, timingHarness } from '../helpers/timing-harness';
import { recordingProvider } from '../helpers/recording-provider';

// @fastify/otel, the successor of @opentelemetry/instrumentation-fastify (which
// auto-instrumentations-node 0.81 no longer ships), patches no module: it is a
// Fastify plugin (registered on every Fastify instance through the
// `fastify.initialization` channel) whose hooks ask the instrumentation's
// isEnabled() on every request. Dormant, that answer is the group's for the call.
const FASTIFY_SCOPE = '@fastify/otel';

/** The part of @fastify/otel (a devDependency) this test uses. */
interface FastifyOtel {
  FastifyOtelInstrumentation: new (config?: { registerOnInitialization?: boolean }) => Instrumentation;
}

function loadFastifyOtel(): FastifyOtel {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@fastify/otel') as FastifyOtel;
  } catch (error) {
    throw new Error('@fastify/otel is not installed (npm install --save-dev @fastify/otel@^0.21.2)', { cause: error });
  }
}

describe('dormant(): @fastify/otel in a real Fastify server', () => {
  const harness = timingHarness();
  // Records every span it is given: what the gate lets through is what gets recorded.
  const { exporter, provider, spansOf } = recordingProvider(new RequestDebugSampler(new AlwaysOnSampler()));
  let instrumentation: Instrumentation;
  let app: FastifyInstance;
  let url: string;

  const fastifySpans = (): ReadableSpan[] => spansOf(FASTIFY_SCOPE);

  before(async () => {
    harness.instrumentation.enable();
    harness.configure({});
    const { FastifyOtelInstrumentation } = loadFastifyOtel();
    instrumentation = dormant(new FastifyOtelInstrumentation({ registerOnInitialization: true }));
    instrumentation.setTracerProvider(provider);
    app = Fastify();
    // Our own Fastify adapter on the same app: both work together.
    await app.register(fastifyTiming);
    app.get<{ Params: { id: string } }>('/orders/:id', function showOrder(request, reply) {
      void reply.send({ order: request.params.id });
    });
    app.get('/fails', async function failing() {
      await Promise.resolve();
      throw new Error('handler failed');
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    disableByDefault('otel:fastify');
    await app?.close();
    instrumentation?.disable();
  });
  beforeEach(() => {
    disableByDefault('otel:fastify');
    harness.configure({});
    harness.reset();
    exporter.reset();
  });

  it('is the group otel:fastify', () => {
    expect(listGroups().map((group) => group.name)).to.include('otel:fastify');
  });

  it('records nothing for requests that are not debugged, which are served as usual', async () => {
    const reply = await send(`${url}/orders/7`);
    expect(JSON.parse(reply.body)).to.deep.equal({ order: '7' });
    const failed = await send(`${url}/fails`);
    expect(failed.status).to.equal(500);
    expect(fastifySpans()).to.deep.equal([]);
  });

  it("records a debugged request's route and handler spans in its trace, and none of the next request's", async () => {
    const debugged = await send(`${url}/orders/42`, { 'X-Request-Debug': '*' });
    expect(JSON.parse(debugged.body)).to.deep.equal({ order: '42' });
    const tree = JSON.parse(debugged.headers['x-request-debug-output'] as string) as Tree;
    const traceId = tree.trace_id as string;
    // The header's timing tree shows the same: the route's span, the handler's beneath it.
    expect(nodeAt(tree, 'request')).to.include({ 'http.route': '/orders/:id', 'http.response.status_code': 200 });
    expect(nodeAt(tree, 'request', 'handler - showOrder').total_time).to.be.a('number');
    await send(`${url}/orders/43`);
    await eventually(() => fastifySpans().some((span) => span.name === 'request'));
    const spans = fastifySpans();
    expect(new Set(spans.map((span) => span.spanContext().traceId))).to.deep.equal(new Set([traceId]));
    const request = spans.find((span) => span.name === 'request');
    // SERVER: no HTTP server instrumentation's RPC metadata in the context (with one, INTERNAL).
    expect(request?.kind).to.equal(SpanKind.SERVER);
    expect(request?.attributes).to.include({
      'http.request.method': 'GET',
      'http.route': '/orders/:id',
      'url.path': '/orders/42',
      'http.response.status_code': 200,
    });
    const handler = spans.find((span) => span.name === 'handler - showOrder');
    expect(handler?.parentSpanContext?.spanId).to.equal(request?.spanContext().spanId);
    // The request span hangs under the request's timing spans.
    const timingIds = new Set(harness.spans().map((span) => span.spanContext().spanId));
    expect(timingIds.has(request?.parentSpanContext?.spanId ?? '')).to.equal(true);
  });

  it('records every request while enabled process-wide, and none once disabled again', async () => {
    alwaysEnable('otel:fastify');
    await send(`${url}/orders/1`);
    const failed = await send(`${url}/fails`);
    expect(failed.status).to.equal(500);
    disableByDefault('otel:fastify');
    await send(`${url}/orders/2`);
    await eventually(() => fastifySpans().filter((span) => span.name === 'request').length === 2);
    const requests = fastifySpans().filter((span) => span.name === 'request');
    expect(requests.map((span) => span.attributes['url.path'])).to.deep.equal(['/orders/1', '/fails']);
    expect(requests[1].attributes['http.response.status_code']).to.equal(500);
  });
});
