import { expect } from 'chai';
import { nodeAt, type Tree } from '../helpers/debugged';
import { send } from '../helpers/http';
import type { OtlpSpan } from '../helpers/otlp-receiver';
import { AppProcess } from '../register/app-process';
import { useAppPeers } from '../register/app-peers';

// HttpInstrumentation dormant (group otel:http) in real application
// processes (the built package: run `npm run build` first): a debug request
// gets a complete trace, from OpenTelemetry's SERVER span down, and other
// requests get nothing from it, whichever of the two Server#emit wrappers
// sits outside the other.
const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
const SERVER = 2;
const CLIENT = 3;

interface Setup {
  readonly title: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

const SETUPS: Setup[] = [
  {
    title: 'zero-code: --require dynamic-hooks/register, DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS=http',
    args: ['--require', 'dynamic-hooks/register', 'test/fixtures/register/app.cjs'],
    env: { DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS: 'http' },
  },
  {
    title: 'in code: NodeSDK with TimingInstrumentation, then dormant(new HttpInstrumentation())',
    args: ['test/fixtures/otel/sdk-dormant-http.cjs'],
    env: {},
  },
  {
    title: 'in code: dormant(new HttpInstrumentation()) patching node:http before TimingInstrumentation does',
    args: ['test/fixtures/otel/sdk-dormant-http.cjs'],
    env: { OTEL_HTTP_FIRST: '1' },
  },
];

describe("dormant HttpInstrumentation: a debug request's trace starts at its SERVER span", function () {
  this.timeout(60_000);
  const peers = useAppPeers();

  for (const [index, setup] of SETUPS.entries()) {
    it(setup.title, async () => {
      const service = `otel-http-server-span-${index}`;
      const app = new AppProcess(setup.args, {
        ...setup.env,
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: peers.receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTLP_TRACES_URL: peers.receiver.tracesUrl,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_LOG_LEVEL: 'warn',
        DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'otel-debug-token',
        UPSTREAM_URL: peers.upstreamUrl,
      });
      peers.apps.push(app);
      const url = await app.ready();

      expect((await send(`${url}/plain-before`)).body).to.equal('upstream');
      const debugged = await send(`${url}/debugged`, { 'X-Request-Debug': '*' });
      expect(debugged.body).to.equal('upstream');
      const output = JSON.parse(debugged.headers['x-request-debug-output'] as string) as Tree & { trace_id: string };
      // The header's tree shows OpenTelemetry's client span too, with its key attributes.
      expect(nodeAt(output, 'GET')).to.include({
        'url.full': `${peers.upstreamUrl}/`,
        'http.response.status_code': 200,
      });
      expect((await send(`${url}/plain-after`)).body).to.equal('upstream');

      app.child.kill('SIGTERM');
      await app.exited;
      const spans = peers.receiver.spans.filter((span) => span.serviceName === service);
      const ofTrace = spans.filter((span) => span.traceId === output.trace_id);

      // Nothing from OpenTelemetry's instrumentation outside the debugged request's trace.
      const httpSpans = spans.filter((span) => span.scopeName === HTTP_SCOPE);
      expect(httpSpans.filter((span) => span.traceId !== output.trace_id)).to.deep.equal([]);

      // Its SERVER span is the trace's root, the timing root span its child, the upstream call beneath.
      const serverSpan = httpSpans.find((span) => span.kind === SERVER);
      expect(serverSpan, names(ofTrace)).to.not.equal(undefined);
      expect(serverSpan?.parentSpanId ?? '').to.equal('');
      expect(serverSpan?.attributes).to.include({
        'http.request.method': 'GET',
        'url.path': '/debugged',
        'http.response.status_code': 200,
      });
      const root = ofTrace.find((span) => span.name === 'request_debug GET');
      expect(root?.parentSpanId, names(ofTrace)).to.equal(serverSpan?.spanId);
      const client = httpSpans.find((span) => span.kind === CLIENT);
      expect(client?.attributes).to.include({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
      expect(ancestors(ofTrace, client)).to.include(root?.spanId);
      expect(ofTrace.every((span) => span === serverSpan || span.parentSpanId !== undefined)).to.equal(true);
    });
  }
});

function names(spans: readonly OtlpSpan[]): string {
  return JSON.stringify(spans.map((span) => [span.scopeName, span.name, span.kind, span.spanId, span.parentSpanId]));
}

function ancestors(spans: readonly OtlpSpan[], span: OtlpSpan | undefined): string[] {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  const found: string[] = [];
  for (let at = span; at?.parentSpanId !== undefined && at.parentSpanId !== '';) {
    found.push(at.parentSpanId);
    at = byId.get(at.parentSpanId);
  }
  return found;
}
