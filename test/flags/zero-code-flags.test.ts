import { expect } from 'chai';
import http from 'node:http';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { close, listen, send } from '../helpers/http';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { eventually } from '../helpers/timing-harness';
import { AppProcess } from '../register/app-process';

// A real application with no telemetry code, started by
// `node --require dynamic-hooks/register` (the built package: run
// `npm run build` first) with DYNAMIC_HOOKS_FLAGS_FILE.
const CJS_APP = 'test/fixtures/register/app.cjs';

const TENANT_RULE = {
  'dynamic-hooks.timing': {
    state: 'ENABLED',
    variants: { on: true, off: false },
    defaultVariant: 'off',
    targeting: { if: [{ '==': [{ var: 'headers.x-tenant' }, 'acme'] }, 'on', null] },
  },
};

describe('zero-code start with DYNAMIC_HOOKS_FLAGS_FILE', function () {
  this.timeout(30_000);
  let receiver: OtlpReceiver;
  let upstream: http.Server;
  let upstreamUrl: string;
  let dir: string;
  let file: string;
  let app: AppProcess | undefined;

  function writeFlagsText(text: string): void {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  }

  function startApp(): AppProcess {
    app = new AppProcess(['--require', 'dynamic-hooks/register', CJS_APP], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_SERVICE_NAME: 'zero-code-flags',
      OTEL_TRACES_SAMPLER: 'always_off',
      DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'zero-code-token',
      DYNAMIC_HOOKS_FLAGS_FILE: file,
      DYNAMIC_HOOKS_FLAG_HEADERS: 'X-Tenant',
      UPSTREAM_URL: upstreamUrl,
    });
    return app;
  }

  before(async () => {
    receiver = await new OtlpReceiver().start();
    upstream = http.createServer((_req, res) => res.end('upstream'));
    upstreamUrl = await listen(upstream);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dh-flags-zero-'));
    file = join(dir, 'flags.json');
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  after(async () => {
    await close(upstream);
    await receiver.stop();
  });

  it('debugs the requests a rule selects into the log and spans, never into the response', async () => {
    writeFlagsText(JSON.stringify({ flags: TENANT_RULE }));
    const started = startApp();
    const url = await started.ready();

    const plain = await send(url, { 'x-tenant': 'other' });
    expect(plain.body).to.equal('upstream');
    const selected = await send(url, { 'x-tenant': 'acme' });
    expect(selected.body).to.equal('upstream');
    expect(selected.headers).to.not.have.property('x-request-debug-output');

    // No diag logger: the log output goes to stderr, one request's worth.
    await eventually(() => started.stderr.includes('[request-debug]'), 5000);
    const outputs = started.stderr.split('\n').filter((line) => line.startsWith('[request-debug]'));
    expect(outputs).to.have.length(1);
    const tree = JSON.parse(outputs[0].slice(outputs[0].indexOf(' output: ') + 9)) as { trace_id: string };

    started.child.kill('SIGTERM');
    await started.exited;
    const spans = receiver.spans.filter((span) => span.serviceName === 'zero-code-flags');
    expect(spans.map((span) => span.name)).to.include.members(['request_debug GET', 'rewrite', 'external_http']);
    expect(new Set(spans.map((span) => span.traceId))).to.deep.equal(new Set([tree.trace_id]));
  });

  it('reports a malformed file on stderr and picks up a later valid one', async () => {
    writeFlagsText('{ "flags": ');
    const started = startApp();
    const url = await started.ready();
    expect(started.stderr).to.include(`[dynamic-hooks] flag file ${file}: not JSON`);
    await send(url, { 'x-tenant': 'acme' });

    writeFlagsText(JSON.stringify({ flags: TENANT_RULE }));
    const deadline = Date.now() + 5000;
    while (!started.stderr.includes('[request-debug]')) {
      if (Date.now() > deadline) throw new Error(`the valid file was not applied; stderr: ${started.stderr}`);
      await send(url, { 'x-tenant': 'acme' });
    }
  });
});
