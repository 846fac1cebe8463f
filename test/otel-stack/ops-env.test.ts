import { expect } from 'chai';
import http from 'node:http';
import { close, listen, send } from '../helpers/http';
import { appsOfSuite, CJS_APP, contextsOf, debugRequest, FIXTURES, upstreamOfSuite } from './ops-apps';

// Issue 10, item 6: OpenTelemetry's environment conventions under
// `node --require dynamic-hooks/register` (the built package).
describe('zero-code start and OpenTelemetry environment conventions', function () {
  this.timeout(30_000);
  const startApp = appsOfSuite();
  const upstream = upstreamOfSuite();

  /** The CommonJS app, exporting nowhere, with a configured token (never printed) and `env`. */
  function start(env: NodeJS.ProcessEnv, script = CJS_APP) {
    return startApp(['--require', 'dynamic-hooks/register', script], {
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'ops-token',
      UPSTREAM_URL: upstream(),
      ...env,
    });
  }

  describe('OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
    it('starts only the instrumentations the enabled list names, in OpenTelemetry spelling (http)', async () => {
      const app = start({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http' });
      const { tree } = await debugRequest(await app.ready());
      const { top, connections } = contextsOf(tree);
      expect(top).to.include('external_http').and.not.include('dns');
      expect(connections, 'net is not enabled').to.equal(false);
      expect(app.stderr).to.equal('');
    });

    it('leaves out the instrumentations the disabled list names, the others all running', async () => {
      const app = start({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: ' dns ' });
      const { tree } = await debugRequest(await app.ready());
      const { top, connections } = contextsOf(tree);
      expect(top).to.include('external_http').and.not.include('dns');
      expect(connections, 'net still runs').to.equal(true);
      expect(app.stderr).to.equal('');
    });

    it('applies the enabled list first, then removes the disabled list from it', async () => {
      const app = start({
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'dns,http,net',
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'net',
      });
      const { tree } = await debugRequest(await app.ready());
      const { top, connections } = contextsOf(tree);
      expect(top).to.include.members(['dns', 'external_http']);
      expect(connections).to.equal(false);
    });

    it('lets DYNAMIC_HOOKS_INSTRUMENTATIONS win over both when it is set', async () => {
      const app = start({
        DYNAMIC_HOOKS_INSTRUMENTATIONS: 'dns',
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http',
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'dns',
      });
      const { tree } = await debugRequest(await app.ready());
      const { top, connections } = contextsOf(tree);
      expect(top).to.include('dns').and.not.include('external_http');
      expect(connections).to.equal(false);
    });

    it('names unknown entries in one warning on stderr, visible without OTEL_LOG_LEVEL, and applies the rest', async () => {
      const app = start({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'dns,pg,Express' });
      const { tree } = await debugRequest(await app.ready());
      expect(contextsOf(tree).top).to.include('external_http').and.not.include('dns');
      const lines = app.operatorLines();
      expect(lines, app.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^OTEL_NODE_DISABLED_INSTRUMENTATIONS: .*\bpg, express\b.*ignored/);
      expect(lines[0]).to.contain('known:').and.contain('dns').and.contain('http');
    });
  });

  describe('OTEL_TRACES_EXPORTER=none', () => {
    it('keeps a valid trace_id in the output and in what propagation sends on, without a complaint', async () => {
      const app = start({ OTEL_LOG_LEVEL: 'warn' }, `${FIXTURES}/ops-propagation-app.cjs`);
      const url = await app.ready();
      const { reply, tree } = await debugRequest(url);
      expect(tree.trace_id, 'trace_id in the header output').to.match(/^[0-9a-f]{32}$/);
      expect(tree.trace_id).to.not.match(/^0+$/);
      const carrier = JSON.parse(reply.body) as Record<string, string>;
      expect(carrier.traceparent, 'traceparent for the next service').to.match(
        new RegExp(`^00-${String(tree.trace_id)}-[0-9a-f]{16}-01$`),
      );
      // Undebugged requests still run (and stay unsampled only if the sampler says so).
      expect((await send(url)).status).to.equal(200);
      app.child.kill('SIGTERM');
      expect(await app.exited).to.deep.equal({ code: null, signal: 'SIGTERM' });
      await app.closed;
      expect(app.stderr, 'no "SDK will not be initialized" or any other complaint').to.equal('');
    });

    it('still exports nothing: no request reaches an OTLP endpoint', async () => {
      // A collector that would see any export attempt.
      let attempts = 0;
      const collector = http.createServer((_req, res) => {
        attempts++;
        res.end('{}');
      });
      const collectorUrl = await listen(collector);
      try {
        const app = start({ OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, EXIT_AFTER_REQUESTS: '1' });
        await debugRequest(await app.ready());
        expect(await app.exited).to.deep.equal({ code: 3, signal: null });
        expect(attempts).to.equal(0);
      } finally {
        await close(collector);
      }
    });
  });
});
