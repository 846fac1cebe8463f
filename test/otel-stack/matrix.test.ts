import { expect } from 'chai';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppProcess } from '../register/app-process';
import { close, listen, send } from '../helpers/http';
import { OtlpReceiver, type OtlpSpan } from '../helpers/otlp-receiver';

// The acceptance matrix of issue 10: {timing instrumentations alone;
// HttpInstrumentation registered first; last; getNodeAutoInstrumentations()}
// x {AlwaysOn; RequestDebugSampler(ParentBased(TraceIdRatio(0)))} x {http.get;
// fetch}. Registration order is process-global: one app process per order
// (test/otel-stack/matrix-app.ts), which swaps the user's sampler between
// cells. Spans come from the real OTLP receiver.

const ORDERS = ['alone', 'first', 'last', 'auto'] as const;
const SAMPLERS = ['on', 'ratio0'] as const;
const CLIENTS = ['get', 'fetch'] as const;
const DEBUGGED_PER_CELL = 2;
const SERVER = 2;
const INTERNAL = 1;
const CLIENT = 3;
const OUR_SCOPE = 'dynamic-hooks';

/** Whose `Server#emit` wrapper each order must leave outermost. */
const OUTERMOST: Record<(typeof ORDERS)[number], string> = {
  alone: 'ours',
  first: 'ours',
  last: 'otel',
  auto: 'otel',
};

interface Debugged {
  readonly traceId: string;
  readonly requestId: string;
  /** The manual span's trace id, as the app answered it. */
  readonly appTraceId: string;
  tree?: TimingJson;
}
interface TimingJson {
  child?: Record<string, TimingJson>;
  request_id?: string;
  trace_id?: string;
}
interface Cell {
  readonly debugged: Debugged[];
  /** Trace ids of the undebugged requests. */
  readonly plain: string[];
}

/** Every path (names joined by ` > `) of a timing tree. */
function treePaths(node: TimingJson, prefix = ''): string[] {
  const paths: string[] = [];
  for (const [name, child] of Object.entries(node.child ?? {})) {
    const path = prefix === '' ? name : `${prefix} > ${name}`;
    paths.push(path, ...treePaths(child, path));
  }
  return paths;
}

/** Every path of our spans under the root span `root`. */
function spanPaths(spans: readonly OtlpSpan[], root: OtlpSpan): string[] {
  const ours = spans.filter((span) => span.scopeName === OUR_SCOPE);
  const byId = new Map(ours.map((span) => [span.spanId, span]));
  const paths: string[] = [];
  for (const span of ours) {
    if (span === root) continue;
    const names: string[] = [];
    let at: OtlpSpan | undefined = span;
    while (at !== undefined && at !== root) {
      names.unshift(at.name);
      at = at.parentSpanId === undefined ? undefined : byId.get(at.parentSpanId);
    }
    expect(at, `our span ${span.name} descends from the root`).to.equal(root);
    paths.push(names.join(' > '));
  }
  return paths;
}

/** Every span's parent is in the trace, and the trace has one root. */
function expectConnected(spans: readonly OtlpSpan[], what: string): void {
  const ids = new Set(spans.map((span) => span.spanId));
  const orphans = spans.filter((span) => span.parentSpanId !== undefined && !ids.has(span.parentSpanId));
  expect(
    orphans.map((span) => span.name),
    `${what}: spans whose parent was not exported`,
  ).to.deep.equal([]);
  expect(
    spans.filter((span) => span.parentSpanId === undefined).map((span) => span.name),
    `${what}: one root`,
  ).to.have.length(1);
}

describe('inside the OpenTelemetry stack: the matrix of issue 10', function () {
  this.timeout(60_000);
  let receiver: OtlpReceiver;
  let upstream: http.Server;
  let upstreamUrl: string;

  before(async () => {
    receiver = await new OtlpReceiver().start();
    upstream = http.createServer((_req, res) => res.end('upstream'));
    upstream.keepAliveTimeout = 1;
    upstreamUrl = await listen(upstream);
  });
  after(async () => {
    upstream.closeAllConnections();
    await close(upstream);
    await receiver.stop();
  });

  for (const order of ORDERS) {
    describe(`registration: ${order}`, () => {
      let app: AppProcess;
      let emit = '';
      const cells = new Map<string, Cell>();
      let spans: OtlpSpan[] = [];

      before(async () => {
        app = new AppProcess(['--require', 'tsx', join('test', 'otel-stack', 'matrix-app.ts')], {
          MATRIX_ORDER: order,
          MATRIX_UPSTREAM: upstreamUrl,
          OTLP_TRACES_URL: receiver.tracesUrl,
          OTEL_LOG_LEVEL: 'error',
        });
        const [, url, wrapper] = await app.waitFor(/ready (\S+) emit:(\w+)/, 30_000);
        emit = wrapper;
        for (const sampler of SAMPLERS) {
          app.child.stdin.write(`sampler ${sampler}\n`);
          await app.waitFor(new RegExp(`sampler ok ${sampler}`));
          for (const client of CLIENTS) {
            const cell: Cell = { debugged: [], plain: [] };
            for (let i = 0; i < DEBUGGED_PER_CELL; i++) {
              const reply = await send(`${url}/call?client=${client}`, {
                'X-Request-Debug': '*',
                'X-Request-Debug-Log': 'true',
              });
              expect(reply.status, reply.body).to.equal(200);
              const output = JSON.parse(String(reply.headers['x-request-debug-output'])) as TimingJson;
              cell.debugged.push({
                traceId: String(output.trace_id),
                requestId: String(output.request_id),
                appTraceId: (JSON.parse(reply.body) as { traceId: string }).traceId,
              });
            }
            const plain = await send(`${url}/call?client=${client}`);
            expect(plain.status, plain.body).to.equal(200);
            expect(plain.headers).to.not.have.property('x-request-debug-output');
            cell.plain.push((JSON.parse(plain.body) as { traceId: string }).traceId);
            cells.set(`${sampler}/${client}`, cell);
          }
        }
        // The root span and the SERVER span end when the response closes, just after the client has it.
        await sleep(100);
        app.child.stdin.write('flush\n');
        await app.waitFor(/flushed/);
        for (const cell of cells.values()) {
          for (const debugged of cell.debugged) {
            const line = new RegExp(`timing-log .*request_id: ${debugged.requestId} output: (.*)`).exec(app.stdout);
            expect(line, `log output of ${debugged.requestId}`).to.not.equal(null);
            debugged.tree = JSON.parse((line as RegExpExecArray)[1]) as TimingJson;
          }
        }
        spans = receiver.spans.filter((span) => span.serviceName === `matrix-${order}`);
      });
      after(async () => {
        app.child.stdin.write('shutdown\n');
        await Promise.race([app.exited, sleep(5_000)]);
        await app.stop();
      });

      it(`leaves ${OUTERMOST[order] === 'ours' ? 'our' : "OpenTelemetry's"} Server#emit wrapper outermost`, () => {
        expect(emit).to.equal(OUTERMOST[order]);
      });

      it('exports no span outside the requests it was sent', () => {
        const known = new Set<string>();
        for (const cell of cells.values()) {
          for (const debugged of cell.debugged) known.add(debugged.traceId);
          for (const traceId of cell.plain) known.add(traceId);
        }
        expect(spans.filter((span) => !known.has(span.traceId)).map((span) => span.name)).to.deep.equal([]);
      });

      for (const sampler of SAMPLERS) {
        for (const client of CLIENTS) {
          it(`${sampler === 'on' ? 'AlwaysOn' : 'ParentBased(TraceIdRatio(0))'} x ${client}`, () => {
            const cell = cells.get(`${sampler}/${client}`) as Cell;
            for (const debugged of cell.debugged) {
              const what = `debugged request ${debugged.requestId}`;
              const trace = spans.filter((span) => span.traceId === debugged.traceId);
              expect(debugged.appTraceId, `${what}: the app's span is in the debug trace`).to.equal(debugged.traceId);
              expectConnected(trace, what);
              expect(
                trace.filter((span) => span.kind === SERVER),
                `${what}: one SERVER span`,
              ).to.have.length(1);
              const roots = trace.filter((span) => span.name === 'request_debug GET');
              expect(roots, `${what}: one timing root`).to.have.length(1);
              const root = roots[0];
              expect(root.attributes['dynamic_hooks.request_id']).to.equal(debugged.requestId);
              expect(root.attributes['dynamic_hooks.request_debug']).to.equal(true);
              expect(
                trace.some((span) => span.name === 'manual'),
                `${what}: the app's manual span`,
              ).to.equal(true);
              if (order === 'alone') {
                expect(root.kind, 'the root is the SERVER span').to.equal(SERVER);
                expect(root.attributes).to.include({
                  'http.request.method': 'GET',
                  'url.scheme': 'http',
                  'url.path': '/call',
                  'http.response.status_code': 200,
                  'server.address': '127.0.0.1',
                  'client.address': '127.0.0.1',
                });
                expect(root.attributes['server.port']).to.be.a('number');
              } else {
                const server = trace.find((span) => span.kind === SERVER) as OtlpSpan;
                expect(server.scopeName).to.equal('@opentelemetry/instrumentation-http');
                expect(root.kind, 'the root continues the SERVER span').to.equal(INTERNAL);
                expect(root.parentSpanId).to.equal(server.spanId);
                expect(server.attributes['dynamic_hooks.request_debug'], 'marked by the sampler').to.equal(true);
                expect(root.attributes, 'no duplicate of the SERVER span').to.not.have.property('http.request.method');
              }
              if (order !== 'alone' && client === 'get') {
                expect(
                  trace.some(
                    (span) => span.kind === CLIENT && span.scopeName === '@opentelemetry/instrumentation-http',
                  ),
                  `${what}: HttpInstrumentation's client span`,
                ).to.equal(true);
              }
              if (order === 'auto' && client === 'fetch') {
                expect(
                  trace.some(
                    (span) => span.kind === CLIENT && span.scopeName === '@opentelemetry/instrumentation-undici',
                  ),
                  `${what}: the undici instrumentation's client span`,
                ).to.equal(true);
              }
              expect(spanPaths(trace, root).sort(), `${what}: our spans form the output's tree`).to.deep.equal(
                treePaths(debugged.tree as TimingJson).sort(),
              );
            }
            for (const traceId of cell.plain) {
              const trace = spans.filter((span) => span.traceId === traceId);
              if (sampler === 'ratio0') {
                expect(
                  trace.map((span) => span.name),
                  'an undebugged request under ratio 0 exports nothing',
                ).to.deep.equal([]);
                continue;
              }
              expect(
                trace.some((span) => span.name === 'manual'),
                'AlwaysOn records the undebugged request',
              ).to.equal(true);
              expectConnected(trace, `undebugged request ${traceId}`);
              expect(trace.filter((span) => span.kind === SERVER)).to.have.length(order === 'alone' ? 0 : 1);
              expect(
                trace.filter((span) => span.scopeName === OUR_SCOPE || span.attributes['dynamic_hooks.request_debug']),
                'nothing of ours',
              ).to.deep.equal([]);
            }
          });
        }
      }
    });
  }
});
