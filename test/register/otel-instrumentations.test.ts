import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from '../helpers/http';
import type { OtlpSpan } from '../helpers/otlp-receiver';
import { PROJECT_ROOT } from '../helpers/run-node';
import { AppProcess } from './app-process';
import { useAppPeers } from './app-peers';
import { freeTcpPort } from '../helpers/free-port';

// DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS: real application processes started with
// `node --require dynamic-hooks/register` (the built package: run `npm run
// build` first) get @opentelemetry/auto-instrumentations-node's
// instrumentations installed dormant, one otel:<name> group each.
const APP = 'test/fixtures/register/app.cjs';
const ADMIN_TOKEN = 'otel-admin-token';
const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
const DNS_SCOPE = '@opentelemetry/instrumentation-dns';

interface GroupInfo {
  readonly name: string;
  readonly alwaysEnabled: boolean;
  readonly hookedFunctions: string[];
}

describe('DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS (dynamic-hooks/register)', function () {
  this.timeout(60_000);
  const peers = useAppPeers();

  async function startApp(service: string, instrumentations: string): Promise<{ app: AppProcess; admin: string }> {
    const adminPort = await freeTcpPort();
    const app = new AppProcess(['--require', 'dynamic-hooks/register', APP], {
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: peers.receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_LOG_LEVEL: 'warn',
      DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'otel-debug-token',
      DYNAMIC_HOOKS_ADMIN_PORT: String(adminPort),
      DYNAMIC_HOOKS_ADMIN_TOKEN: ADMIN_TOKEN,
      DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS: instrumentations,
      UPSTREAM_URL: peers.upstreamUrl,
    });
    peers.apps.push(app);
    await app.ready();
    return { app, admin: `http://127.0.0.1:${adminPort}/dynamic-hooks` };
  }

  async function otelGroups(admin: string): Promise<GroupInfo[]> {
    const reply = await send(`${admin}/groups`, { Authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(reply.status, reply.body).to.equal(200);
    const { groups } = JSON.parse(reply.body) as { groups: GroupInfo[] };
    return groups.filter((group) => group.name.startsWith('otel:'));
  }

  /** Ends the app with SIGTERM (which flushes) and returns its spans. */
  async function spansAtExit(app: AppProcess, service: string): Promise<OtlpSpan[]> {
    app.child.kill('SIGTERM');
    await app.exited;
    return peers.receiver.spans.filter((span) => span.serviceName === service);
  }

  it('installs the listed ones dormant as otel:<name> groups the admin endpoint shows and switches', async () => {
    const service = 'otel-dormant-list';
    const { app, admin } = await startApp(service, 'http, DNS,bogus');
    const url = `http://127.0.0.1:${(await app.ready()).split(':')[2]}`;

    expect(await send(url).then((reply) => reply.body)).to.equal('upstream');
    const groups = await otelGroups(admin);
    expect(groups.map((group) => group.name).sort()).to.deep.equal(['otel:dns', 'otel:http']);
    expect(groups.find((group) => group.name === 'otel:dns')?.hookedFunctions).to.include('lookup');

    // Process-wide through the admin endpoint: the next request is traced by OpenTelemetry's instrumentations.
    const enabled = await send(
      `${admin}/groups/otel%3Ahttp/enable`,
      { Authorization: `Bearer ${ADMIN_TOKEN}` },
      'POST',
    );
    expect(enabled.status, enabled.body).to.equal(200);
    await send(url);
    await send(`${admin}/groups/otel%3Ahttp/disable`, { Authorization: `Bearer ${ADMIN_TOKEN}` }, 'POST');
    await send(url);

    const spans = await spansAtExit(app, service);
    const httpSpans = spans.filter((span) => span.scopeName === HTTP_SCOPE);
    // One request while enabled: its server span, and its call upstream as a child (the rest are the
    // admin endpoint's own requests, served by a node:http server too).
    const clients = httpSpans.filter((span) => span.kind === 3);
    expect(clients).to.have.length(1);
    const appServer = httpSpans.find((span) => span.kind === 2 && span.spanId === clients[0].parentSpanId);
    expect(appServer?.attributes).to.include({ 'url.path': '/' });
    expect(httpSpans.filter((span) => span.kind === 2 && span.attributes['url.path'] === '/')).to.have.length(1);
    expect(spans.filter((span) => span.scopeName === DNS_SCOPE)).to.deep.equal([]);
    // Once on stderr for the operator (and once through diag, which OTEL_LOG_LEVEL=warn writes there too).
    const warnings = app.stderr.split('\n').filter((line) => line.startsWith('[dynamic-hooks]'));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(
      /^\[dynamic-hooks\] DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS: .*bogus.*known: all, amqplib, .*http, .*undici/,
    );
  });

  it("with all, a debug request gets OpenTelemetry's spans in its trace and other requests none", async () => {
    const service = 'otel-dormant-all';
    const { app, admin } = await startApp(service, 'all');
    const url = `http://127.0.0.1:${(await app.ready()).split(':')[2]}`;
    const groups = await otelGroups(admin);
    expect(groups).to.have.length(39);
    expect(groups.map((group) => group.name)).to.include.members(['otel:http', 'otel:pg', 'otel:undici']);
    expect(groups.map((group) => group.name)).to.not.include.members(['otel:fs', 'otel:host-metrics']);

    await send(url);
    const debugged = await send(url, { 'X-Request-Debug': '*' });
    const { trace_id: traceId } = JSON.parse(debugged.headers['x-request-debug-output'] as string) as {
      trace_id: string;
    };
    await send(url);

    const spans = await spansAtExit(app, service);
    const otel = spans.filter((span) => span.scopeName === HTTP_SCOPE || span.scopeName === DNS_SCOPE);
    expect(otel.map((span) => span.scopeName)).to.include.members([HTTP_SCOPE, DNS_SCOPE]);
    expect(new Set(otel.map((span) => span.traceId))).to.deep.equal(new Set([traceId]));
    const client = otel.find((span) => span.scopeName === HTTP_SCOPE && span.kind === 3);
    expect(client?.attributes).to.include({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
  });

  describe('without @opentelemetry/auto-instrumentations-node', () => {
    let folder: string;

    before(() => {
      // An application folder with dynamic-hooks (a copy of the built package) and every installed package but that one.
      folder = mkdtempSync(join(tmpdir(), 'dynamic-hooks-otel-'));
      const installed = join(PROJECT_ROOT, 'node_modules');
      const copy = join(folder, 'node_modules', 'dynamic-hooks');
      mkdirSync(copy, { recursive: true });
      cpSync(join(PROJECT_ROOT, 'package.json'), join(copy, 'package.json'));
      cpSync(join(PROJECT_ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
      for (const name of readdirSync(installed)) {
        if (name.startsWith('.') || name === '@opentelemetry' || name === 'dynamic-hooks') continue;
        symlinkSync(join(installed, name), join(folder, 'node_modules', name));
      }
      mkdirSync(join(folder, 'node_modules', '@opentelemetry'));
      for (const name of readdirSync(join(installed, '@opentelemetry'))) {
        if (name === 'auto-instrumentations-node') continue;
        symlinkSync(join(installed, '@opentelemetry', name), join(folder, 'node_modules', '@opentelemetry', name));
      }
    });
    after(() => {
      rmSync(folder, { recursive: true, force: true });
    });

    it('says on stderr what to install, and the application runs', async () => {
      const result = await new Promise<{ stdout: string; stderr: string; failed: boolean }>((resolve) => {
        execFile(
          process.execPath,
          ['--require', 'dynamic-hooks/register', '-e', 'console.log("app ran")'],
          {
            cwd: folder,
            env: {
              PATH: process.env.PATH,
              OTEL_TRACES_EXPORTER: 'none',
              OTEL_METRICS_EXPORTER: 'none',
              OTEL_LOGS_EXPORTER: 'none',
              DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'token',
              DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS: 'all',
            },
          },
          (error, stdout, stderr) => resolve({ stdout, stderr, failed: error !== null }),
        );
      });
      expect(result).to.deep.include({ stdout: 'app ran\n', failed: false });
      expect(result.stderr).to.match(
        /^\[dynamic-hooks\] DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS is set but @opentelemetry\/auto-instrumentations-node is not installed.*npm install @opentelemetry\/auto-instrumentations-node\n$/,
      );
    });
  });
});
