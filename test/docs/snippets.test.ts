// Every marked code block of README.md and docs/*.md runs as written, against
// the built package imported by its name, and does what its page says.
// Markers and how to add a snippet: docs/development.md ("Documentation
// snippets").
import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { close, listen } from '../helpers/http';
import { PROJECT_ROOT } from '../helpers/run-node';
import {
  codeBlocks,
  documentationFiles,
  NOT_RUN,
  PROGRAM_LANGUAGES,
  SNIPPET_ID,
  type CodeBlock,
} from './markdown-blocks';
import { ShellSession } from './shell-session';
import {
  APP_JS,
  APP_MJS,
  code,
  collector,
  debugRequest,
  eventually,
  expectSuccess,
  findContext,
  program,
  stopServer,
  TOKEN,
  TSC,
  type Tree,
} from './snippet-checks';
import { SnippetApp } from './snippet-app';

/** Polls an asynchronous `check` until it holds. */
async function eventuallyAsync(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** How one or more marked blocks are run, and what they must do. */
interface Spec {
  /** The snippet ids (markers) this spec runs. */
  readonly snippets: readonly string[];
  readonly check: (blocks: Readonly<Record<string, CodeBlock>>, app: SnippetApp) => Promise<void>;
}

const SPECS: Record<string, Spec> = {
  'core API: a hooked console.log and a named hook in a request scope': {
    snippets: ['core-hello'],
    async check(blocks, app) {
      const run = await app.node(['--import', 'tsx', app.write('core.mts', code(blocks, 'core-hello'))]);
      expectSuccess(run);
      expect(run.stdout.split('\n')).to.deep.equal(['hello, world!', 'event 10, test', '']);
    },
  },

  'admin endpoint: startAdminServer, then the curl commands list and switch a group': {
    snippets: ['admin-server', 'admin-curl'],
    async check(blocks, app) {
      const port = await app.port(9470);
      const env = { ADMIN_TOKEN: TOKEN };
      const server = app.startNode(['--import', 'tsx', app.write('admin.mts', code(blocks, 'admin-server'))], env);
      await server.listening(port);
      await server.printed(`http://127.0.0.1:${port}/dynamic-hooks`);

      const shell = new ShellSession(app, code(blocks, 'admin-curl'), env);
      const list = await shell.run(/^curl -H /);
      expectSuccess(list);
      const { groups } = JSON.parse(list.stdout) as { groups: { name: string }[] };
      expect(groups.map((group) => group.name)).to.include('order_audit');
      const put = await shell.run(/^curl -X PUT .*\/groups\/order_audit$/);
      expectSuccess(put);
      expect(JSON.parse(put.stdout)).to.include({ name: 'order_audit', alwaysEnabled: true });
      const disable = await shell.run(/^curl -X POST .*\/groups\/order_audit\/disable$/);
      expectSuccess(disable);
      expect(JSON.parse(disable.stdout)).to.include({ name: 'order_audit', alwaysEnabled: false });
      shell.done();

      const end = await stopServer(server);
      expect(end.stdout).to.include('group "order_audit" alwaysEnabled false -> true (PUT from 127.0.0.1)');
      expect(end.stdout).to.include('group "order_audit" alwaysEnabled true -> false (POST from 127.0.0.1)');
    },
  },

  'admin endpoint: createAdminHandler in node:http, Express and Fastify': {
    snippets: ['admin-handler'],
    async check(blocks, app) {
      const [plain, express, fastify] = [await app.port(9470), await app.port(3000), await app.port(3001)];
      const server = app.startNode(['--import', 'tsx', app.write('admin.mts', code(blocks, 'admin-handler'))], {
        ADMIN_TOKEN: TOKEN,
      });
      for (const port of [plain, express, fastify]) await server.listening(port);
      const auth = { authorization: `Bearer ${TOKEN}` };
      const get = async (port: number, path: string, headers = auth) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
        return { status: response.status, body: await response.text() };
      };
      for (const [port, path] of [
        [plain, '/dynamic-hooks/groups'],
        [express, '/dynamic-hooks/groups'],
        [express, '/ops/groups'],
        [fastify, '/dynamic-hooks/groups'],
      ] as const) {
        const answer = await get(port, path);
        expect(answer.status, `${port}${path}: ${answer.body}`).to.equal(200);
        expect(JSON.parse(answer.body)).to.have.property('groups').that.is.an('array');
        expect((await get(port, path, { authorization: 'Bearer wrong' })).status).to.equal(403);
      }
      expect((await get(plain, '/elsewhere')).status).to.equal(404);
      expect((await get(express, '/elsewhere')).status).to.equal(404); // Express's own 404, after next()
      await stopServer(server);
    },
  },

  'admin endpoint under node:cluster: one PUT switches both workers': {
    snippets: ['admin-cluster'],
    async check(blocks, app) {
      const [admin, web] = [await app.port(9470), await app.port(3000)];
      const server = app.startNode(['--import', 'tsx', app.write('cluster.mts', code(blocks, 'admin-cluster'))], {
        ADMIN_TOKEN: TOKEN,
      });
      await server.listening(admin);
      const base = `http://127.0.0.1:${admin}/dynamic-hooks/groups`;
      const headers = { authorization: `Bearer ${TOKEN}` };
      type Workers = {
        workers?: { worker: number; groups?: { name: string }[]; group?: { alwaysEnabled: boolean } }[];
      };
      // Both workers up, each with its group.
      await eventuallyAsync(async () => {
        const list = (await (await fetch(base, { headers })).json()) as Workers;
        return list.workers?.filter((w) => w.groups?.some((g) => g.name === 'order_audit')).length === 2;
      }, 'both workers listing order_audit');
      const put = await fetch(`${base}/order_audit`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{"alwaysEnabled": true}',
      });
      const body = (await put.json()) as Workers;
      expect(put.status, JSON.stringify(body)).to.equal(200);
      expect(body.workers?.map((w) => w.group?.alwaysEnabled)).to.deep.equal([true, true]);
      const answers = new Set<string>();
      for (let i = 0; i < 50 && answers.size < 2; i++) {
        answers.add(await (await fetch(`http://127.0.0.1:${web}/`, { headers: { connection: 'close' } })).text());
      }
      expect([...answers].sort()).to.deep.equal(['worker 1: true\n', 'worker 2: true\n']);
      await stopServer(server);
    },
  },

  'README: the zero-code start and npx dynamic-hooks debug': {
    snippets: ['readme-zero-code'],
    async check(blocks, app) {
      const port = await app.port(3000);
      app.write('app.js', APP_JS);
      // With no collector: as the README says, OTEL_TRACES_EXPORTER=none.
      const shell = new ShellSession(app, code(blocks, 'readme-zero-code'), {
        PORT: String(port),
        OTEL_TRACES_EXPORTER: 'none',
      });
      const server = shell.start(/^node --require dynamic-hooks\/register app\.js\b/);
      await server.listening(port);
      const debug = await shell.run(/^npx dynamic-hooks debug http:\/\/localhost:3000\/ /);
      expectSuccess(debug);
      expect(debug.stdout).to.match(new RegExp(`^GET http://localhost:${port}/ -> 200 OK`));
      expect(debug.stdout).to.match(/^request_id=[0-9a-f-]{36} trace_id=[0-9a-f]{32}$/m);
      expect(debug.stdout).to.match(/^rewrite +\d+\.\d\d +\|/m);
      expect(debug.stdout).to.match(/^header_filter +\d+\.\d\d +\|/m);
      shell.done();
      await stopServer(server);
    },
  },

  'zero-code start: the exported OTLP settings, then the CommonJS and ESM commands': {
    snippets: ['zero-code-start'],
    async check(blocks, app) {
      const receiver = await collector(app);
      try {
        const port = await app.port(3000);
        app.write('app.js', APP_JS);
        app.write('app.mjs', APP_MJS);
        // The test's receiver decodes OTLP/JSON (the default protocol is http/protobuf).
        const shell = new ShellSession(app, code(blocks, 'zero-code-start'), {
          PORT: String(port),
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        });
        await shell.run(/^export OTEL_SERVICE_NAME=orders OTEL_EXPORTER_OTLP_ENDPOINT=/);
        for (const command of [
          /^node --require dynamic-hooks\/register app\.js\b/,
          /^node --import dynamic-hooks\/register app\.mjs\b/,
        ]) {
          const server = shell.start(command);
          await server.listening(port);
          const { output } = await debugRequest(`http://127.0.0.1:${port}/orders/42`);
          expect(output?.child, server.describe()).to.have.property('rewrite');
          const traceId = output?.trace_id;
          expect(traceId).to.match(/^[0-9a-f]{32}$/);
          await stopServer(server);
          // Exported before the process died of SIGTERM, to the endpoint the block exported.
          const spans = receiver.spans.filter((span) => span.traceId === traceId);
          expect(spans, `${String(command)}: spans of trace ${String(traceId)}`).to.not.be.empty;
          expect(new Set(spans.map((span) => span.serviceName))).to.deep.equal(new Set(['orders']));
        }
        shell.done();
      } finally {
        await receiver.stop();
      }
    },
  },

  'request debugging: the NodeSDK setup in front of an app, a curl debug request, spans at shutdown': {
    snippets: ['request-debugging-sdk', 'request-debugging-curl'],
    async check(blocks, app) {
      const receiver = await collector(app);
      try {
        const port = await app.port(3000);
        app.write('otel.mts', code(blocks, 'request-debugging-sdk'));
        app.write('app.mjs', APP_MJS);
        const server = app.startNode(['--import', 'tsx', '--import', './otel.mts', 'app.mjs'], {
          PORT: String(port),
          DEBUG_TOKEN: TOKEN,
        });
        await server.listening(port);
        const shell = new ShellSession(app, code(blocks, 'request-debugging-curl'));
        const curl = await shell.run(
          /^curl -s -D - -o \/dev\/null -H 'X-Request-Debug: \*' http:\/\/127\.0\.0\.1:3000\/orders\/42$/,
        );
        expectSuccess(curl);
        shell.done();
        const header = /^X-Request-Debug-Output: (\{.*\})\r?$/m.exec(curl.stdout);
        expect(header, curl.stdout).to.not.equal(null);
        const output = JSON.parse(header?.[1] ?? '') as Tree;
        expect(output.child?.rewrite?.total_time).to.be.a('number');
        expect(output.request_id).to.match(/^[0-9a-f-]{36}$/);
        expect(output.trace_id).to.match(/^[0-9a-f]{32}$/);
        // The snippet's SIGTERM handler exports the batch, then the process dies of the signal.
        await stopServer(server);
        const spans = receiver.spans.filter((span) => span.traceId === output.trace_id);
        expect(spans.map((span) => span.name)).to.include('request_debug GET');
        expect(new Set(spans.map((span) => span.serviceName))).to.deep.equal(new Set(['my-service']));
      } finally {
        await receiver.stop();
      }
    },
  },

  'request debugging: an application context of its own in a handler': {
    snippets: ['timing-context'],
    async check(blocks, app) {
      const port = await app.port(3000);
      app.write('app.mts', code(blocks, 'timing-context'));
      const server = app.startNode(['--import', 'tsx', '--import', 'dynamic-hooks/register', 'app.mts'], {
        OTEL_TRACES_EXPORTER: 'none',
      });
      await server.listening(port);
      const reply = await debugRequest(`http://127.0.0.1:${port}/cart`);
      expect(reply.body).to.equal('3 items\n');
      const cart = findContext(reply.output, 'load_cart');
      expect(cart, JSON.stringify(reply.output)).to.include({ items: 3 });
      expect(cart?.total_time).to.be.a('number').that.is.at.least(15);
      await stopServer(server);
    },
  },

  'request debugging: the Express and Fastify adapters add access and router': {
    snippets: ['adapters'],
    async check(blocks, app) {
      const ports = [await app.port(3000), await app.port(3001)];
      app.write('app.mts', code(blocks, 'adapters'));
      const server = app.startNode(['--import', 'tsx', '--import', 'dynamic-hooks/register', 'app.mts'], {
        OTEL_TRACES_EXPORTER: 'none',
      });
      for (const port of ports) await server.listening(port);
      for (const port of ports) {
        const reply = await debugRequest(`http://127.0.0.1:${port}/users/7`);
        expect(reply.status, reply.body).to.equal(200);
        expect(JSON.parse(reply.body)).to.deep.equal({ id: '7' });
        expect(reply.output?.child?.access?.child, JSON.stringify(reply.output)).to.have.property('router');
      }
      await stopServer(server);
    },
  },

  'instrumentations: getTimingInstrumentations in NodeSDK times an outgoing call': {
    snippets: ['instrumentations-sdk'],
    async check(blocks, app) {
      const upstream = http.createServer((_req, res) => res.end('in stock\n'));
      const upstreamUrl = await listen(upstream);
      try {
        const port = await app.port(3000);
        app.write('otel.mts', code(blocks, 'instrumentations-sdk'));
        app.write('app.mjs', APP_MJS);
        const server = app.startNode(['--import', 'tsx', '--import', './otel.mts', 'app.mjs'], {
          PORT: String(port),
          NEXT_URL: `${upstreamUrl}/stock`,
          OTEL_TRACES_EXPORTER: 'none',
          DEBUG_TOKEN: TOKEN,
        });
        await server.listening(port);
        const { output } = await debugRequest(`http://127.0.0.1:${port}/`);
        const call = findContext(output, 'external_http');
        expect(call, JSON.stringify(output)).to.not.equal(undefined);
        expect(findContext(call, 'http_request')).to.not.equal(undefined);
        expect(findContext(call, 'connect'), 'the connection, under the request').to.not.equal(undefined);
        await stopServer(server);
      } finally {
        await close(upstream);
      }
    },
  },

  'across services: the signed propagator carries a debug request to the next service': {
    snippets: ['across-services-sdk'],
    async check(blocks, app) {
      // The block leaves the exporter to the environment: OTLP, to the test's receiver.
      const receiver = await collector(app);
      try {
        const [front, back] = [await app.port(3000), await app.port(3001)];
        app.write('otel.mts', code(blocks, 'across-services-sdk'));
        app.write('app.mjs', APP_MJS);
        const env = {
          DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN,
          OTEL_EXPORTER_OTLP_ENDPOINT: app.substitute('http://127.0.0.1:4318'),
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        };
        const args = ['--import', 'tsx', '--import', './otel.mts', 'app.mjs'];
        const backend = app.startNode(args, { ...env, PORT: String(back), OTEL_SERVICE_NAME: 'backend' });
        const frontend = app.startNode(args, {
          ...env,
          PORT: String(front),
          NEXT_URL: `http://127.0.0.1:${back}/`,
          OTEL_SERVICE_NAME: 'frontend',
        });
        await backend.listening(back);
        await frontend.listening(front);
        const { output } = await debugRequest(`http://127.0.0.1:${front}/`);
        const call = findContext(output, 'http_request');
        const downstream = call?.downstream as Tree[] | undefined;
        expect(downstream, JSON.stringify(output)).to.be.an('array').with.lengthOf(1);
        expect(downstream?.[0]?.trace_id).to.equal(output?.trace_id);
        expect(downstream?.[0]?.child).to.have.property('rewrite');
        // Each SIGTERM handler exports its spans: one trace across both services.
        await stopServer(frontend);
        await stopServer(backend);
        const services = receiver.spans
          .filter((span) => span.traceId === output?.trace_id)
          .map((span) => span.serviceName);
        expect(new Set(services)).to.deep.equal(new Set(['frontend', 'backend']));
      } finally {
        await receiver.stop();
      }
    },
  },

  'CLI: debug a request, then draw its tree again from the server log': {
    snippets: ['cli-debug', 'cli-show'],
    async check(blocks, app) {
      const port = await app.port(8000);
      app.write('app.js', APP_JS);
      const server = app.startNode(['--require', 'dynamic-hooks/register', 'app.js'], {
        PORT: String(port),
        OTEL_TRACES_EXPORTER: 'none',
        DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN,
      });
      await server.listening(port);
      const url = `http://127.0.0.1:${port}/demo/slow`;
      const debug = new ShellSession(app, code(blocks, 'cli-debug'), { DEBUG_TOKEN: TOKEN });
      const plain = await debug.run(/^npx dynamic-hooks debug http:\/\/127\.0\.0\.1:8000\/demo\/slow$/);
      expectSuccess(plain);
      expect(plain.stdout.startsWith(`GET ${url} -> 200 OK`), plain.stdout).to.equal(true);
      expect(plain.stdout).to.match(/^rewrite +\d+\.\d\d +\|/m);
      const logged = await debug.run(/ --token "\$DEBUG_TOKEN" -H 'Accept: application\/json' --log$/);
      expectSuccess(logged);
      debug.done();
      const requestId = /under request_id ([0-9a-f-]{36})/.exec(logged.stdout)?.[1] ?? '';
      expect(requestId, logged.stdout).to.not.equal('');

      await eventually(() => server.stderr.includes(`[request-debug] request_id: ${requestId}`), 'the logged tree');
      writeFileSync(join(app.dir, 'server.log'), server.stderr);
      const show = new ShellSession(app, code(blocks, 'cli-show'), { REQUEST_ID: requestId });
      for (const command of [
        /^npx dynamic-hooks show server\.log --request-id "\$REQUEST_ID"$/,
        /^grep -F .* \| npx dynamic-hooks show -$/,
      ]) {
        const drawn = await show.run(command);
        expectSuccess(drawn);
        expect(drawn.stdout).to.match(new RegExp(`^request_id=${requestId} `, 'm'));
        expect(drawn.stdout).to.match(/^log +\d+\.\d\d +\|/m);
      }
      show.done();
      await stopServer(server);
    },
  },

  "debug rules: a flag file debugs a share of one tenant's checkouts, in the log only": {
    snippets: ['debug-rules-zero-code', 'debug-rules-flags'],
    async check(blocks, app) {
      const port = await app.port(3000);
      app.write('app.js', APP_JS);
      app.write('flags.json', code(blocks, 'debug-rules-flags'));
      const shell = new ShellSession(app, code(blocks, 'debug-rules-zero-code'), {
        PORT: String(port),
        OTEL_TRACES_EXPORTER: 'none',
        DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN,
      });
      const server = shell.start(
        /^DYNAMIC_HOOKS_FLAGS_FILE=flags\.json .*node --require dynamic-hooks\/register app\.js$/,
      );
      await server.listening(port);
      shell.done();
      const logged = (): number =>
        server.stderr.split('\n').filter((line) => line.startsWith('[request-debug]')).length;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      /** Sends `count` requests; true if any response carried the output header. */
      const load = async (count: number, method: string, path: string, tenant: string): Promise<boolean> => {
        const headers = await Promise.all(
          Array.from(
            { length: count },
            () =>
              new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
                const req = http.request(
                  `http://127.0.0.1:${port}${path}`,
                  { method, agent, headers: { 'x-tenant': tenant } },
                  (res) => {
                    res.resume();
                    res.on('end', () => resolve(res.headers));
                  },
                );
                req.on('error', reject);
                req.end();
              }),
          ),
        );
        return headers.some((h) => h['x-request-debug-output'] !== undefined);
      };
      try {
        // Other tenants' checkouts, and the tenant's other requests: never.
        expect(await load(300, 'POST', '/checkout', 'globex')).to.equal(false);
        expect(await load(300, 'GET', '/checkout', 'acme')).to.equal(false);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(logged(), server.stderr).to.equal(0);
        // 1% of 2000: about 20 (none at all has a chance of 2e-9); in the log, never in a response.
        expect(await load(2000, 'POST', '/checkout', 'acme')).to.equal(false);
        await eventually(() => logged() > 0, 'a debugged checkout in the log');
        expect(logged()).to.be.within(1, 60);
      } finally {
        agent.destroy();
      }
      await stopServer(server);
    },
  },

  'dormant OpenTelemetry: dormant() in NodeSDK, groups listed and switched': {
    snippets: ['otel-dormant-code'],
    async check(blocks, app) {
      // What the page says the block leaves behind: otel:pg always enabled, the HTTP instrumentation under `outbound`.
      const report = [
        "import { listGroups as listGroupsAfterSnippet } from 'dynamic-hooks';",
        'console.log(JSON.stringify(listGroupsAfterSnippet().map(({ name, alwaysEnabled }) => ({ name, alwaysEnabled }))));',
        'void sdk.shutdown();',
      ].join('\n');
      const run = await app.node(
        ['--import', 'tsx', app.write('dormant.mts', `${code(blocks, 'otel-dormant-code')}\n${report}\n`)],
        { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
      );
      expectSuccess(run);
      const groups = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as {
        name: string;
        alwaysEnabled: boolean;
      }[];
      expect(groups).to.deep.include({ name: 'otel:pg', alwaysEnabled: true });
      expect(groups).to.deep.include({ name: 'outbound', alwaysEnabled: false });
    },
  },

  'dormant OpenTelemetry: the zero-code command; only a debug request gets OpenTelemetry spans': {
    snippets: ['otel-dormant-zero-code'],
    async check(blocks, app) {
      const receiver = await collector(app);
      const upstream = http.createServer((_req, res) => res.end('upstream\n'));
      try {
        const upstreamUrl = await listen(upstream);
        const port = await app.port(3000);
        // An app whose requests call another service: OpenTelemetry's http client instrumentation has work to do.
        app.write(
          'app.js',
          `const http = require('node:http');
http.createServer((req, res) => {
  http.get(process.env.NEXT_URL, (up) => up.resume().on('end', () => res.end('hello\\n')));
}).listen(Number(process.env.PORT));
`,
        );
        const shell = new ShellSession(app, code(blocks, 'otel-dormant-zero-code'), {
          PORT: String(port),
          NEXT_URL: upstreamUrl,
          // The block sends to the default endpoint; here, to the test's receiver, as OTLP/JSON.
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
        });
        const server = shell.start(
          /^DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS=all node --require dynamic-hooks\/register app\.js$/,
        );
        await server.listening(port);
        const plain = await fetch(`http://127.0.0.1:${port}/plain`).catch((error: unknown) => {
          throw new Error(`${String(error)}\n${server.describe()}`);
        });
        expect(await plain.text()).to.equal('hello\n');
        const { output } = await debugRequest(`http://127.0.0.1:${port}/debugged`);
        const traceId = output?.trace_id;
        expect(traceId, server.describe()).to.match(/^[0-9a-f]{32}$/);
        await stopServer(server);
        shell.done();
        const otelSpans = receiver.spans.filter((span) => span.scopeName === '@opentelemetry/instrumentation-http');
        expect(otelSpans, 'spans of the dormant http instrumentation').to.not.be.empty;
        expect(new Set(otelSpans.map((span) => span.traceId))).to.deep.equal(new Set([traceId]));
      } finally {
        await close(upstream);
        await receiver.stop();
      }
    },
  },

  'debug rules: debugRulesFromFlags with a context hook and a targeting key': {
    snippets: ['debug-rules-code'],
    async check(blocks, app) {
      const port = await app.port(3000);
      app.write('app.mjs', APP_MJS);
      app.write('rules.mts', code(blocks, 'debug-rules-code'));
      const flag = {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: { if: [{ '==': [{ var: 'userId' }, 'alice'] }, 'on', null] },
      };
      app.write('flags.json', JSON.stringify({ flags: { 'dynamic-hooks.timing': flag } }));
      const server = app.startNode(
        ['--import', 'tsx', '--import', 'dynamic-hooks/register', '--import', './rules.mts', 'app.mjs'],
        { PORT: String(port), OTEL_TRACES_EXPORTER: 'none', DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN },
      );
      await server.listening(port);
      const get = async (user: string) => {
        const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie: `theme=dark; user=${user}` } });
        await response.text();
        expect(response.headers.get('x-request-debug-output')).to.equal(null);
      };
      await get('bob');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(server.stderr).to.not.include('[request-debug]');
      await get('alice');
      await eventually(() => server.stderr.includes('[request-debug] request_id: '), "alice's request in the log");
      await stopServer(server);
    },
  },

  'behind proxies: each configuration decides who debugs without the token': {
    snippets: ['proxies-real-ip', 'proxies-load-balancer', 'proxies-two-hops-ranges', 'proxies-two-hops-count'],
    async check(blocks, app) {
      // The blocks are one line each: they get their import (and the CDN's ranges) from PRELUDES.
      const port = await app.port(3000);
      app.write('app.mjs', APP_MJS);
      /** Whether a request from loopback with these headers (and no token) is debugged, for each block. */
      const debugged = async (id: string, requests: Record<string, string>[]): Promise<boolean[]> => {
        app.write('timing.mts', program(blocks, id));
        const server = app.startNode(['--import', 'tsx', '--import', './timing.mts', 'app.mjs'], {
          PORT: String(port),
          DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN,
        });
        await server.listening(port);
        const outcomes: boolean[] = [];
        for (const headers of requests)
          outcomes.push((await debugRequest(`http://127.0.0.1:${port}/`, headers)).output !== undefined);
        await stopServer(server);
        return outcomes;
      };
      const outside = '203.0.113.9';
      // nginx on this host sets X-Real-IP: the client it names decides; a request without it is the proxy's own.
      expect(
        await debugged('proxies-real-ip', [
          { 'X-Real-IP': outside },
          { 'X-Real-IP': outside, 'X-Request-Debug-Token': TOKEN },
          { 'X-Real-IP': '127.0.0.1' },
          {},
          { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': outside },
        ]),
      ).to.deep.equal([false, true, true, true, false]);
      // Balancers in 10.0.0.0/16: a peer outside that range (loopback here) is judged by its own address.
      for (const id of ['proxies-load-balancer', 'proxies-two-hops-ranges']) {
        expect(await debugged(id, [{ 'X-Forwarded-For': outside }, { 'X-Real-IP': outside }]), id).to.deep.equal([
          true,
          true,
        ]);
      }
      expect(await debugged('proxies-two-hops-count', [{ 'X-Forwarded-For': outside }, {}])).to.deep.equal([
        true,
        true,
      ]);
    },
  },
};

describe('documentation snippets', function () {
  this.timeout(120_000);

  const blocks = documentationFiles().flatMap(codeBlocks);
  const marked = new Map<string, CodeBlock>();
  for (const block of blocks) {
    if (block.marker === undefined || !SNIPPET_ID.test(block.marker)) continue;
    if (marked.has(block.marker)) throw new Error(`${block.where}: snippet id ${block.marker} is used twice`);
    marked.set(block.marker, block);
  }

  before(function () {
    if (!existsSync(join(PROJECT_ROOT, 'dist', 'src', 'index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it through pretest)');
    }
  });

  it('marks every block of code a reader would run: a snippet id, or why it is not run', () => {
    const unmarked = blocks
      .filter((block) => PROGRAM_LANGUAGES.has(block.language))
      .filter((block) => block.marker === undefined || !(SNIPPET_ID.test(block.marker) || NOT_RUN.test(block.marker)))
      .map((block) => `${block.where} (${block.marker === undefined ? 'no marker' : `marker "${block.marker}"`})`);
    expect(unmarked).to.deep.equal([]);
  });

  it('runs every marked snippet in exactly one spec, and every spec runs marked snippets', () => {
    const specified = Object.values(SPECS).flatMap((spec) => spec.snippets);
    expect(
      [...marked.keys()].filter((id) => !specified.includes(id)),
      'marked, but no spec runs them',
    ).to.deep.equal([]);
    expect(
      specified.filter((id) => !marked.has(id)),
      'in a spec, but no block is marked so',
    ).to.deep.equal([]);
    expect(
      specified.filter((id, index) => specified.indexOf(id) !== index),
      'in two specs',
    ).to.deep.equal([]);
  });

  it('type-checks every TypeScript snippet as a strict user project does (nodenext)', async function () {
    this.timeout(180_000);
    const app = SnippetApp.create();
    try {
      const files = [...marked]
        .filter(([, block]) => block.language === 'ts')
        .map(([id]) => app.write(`${id}.mts`, program(Object.fromEntries(marked), id)));
      expect(files).to.not.be.empty;
      const options = ['--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node'];
      const check = await app.node([TSC, '--noEmit', ...options, ...files]);
      expect(check.code, check.stdout + check.stderr).to.equal(0);
    } finally {
      await app.close();
    }
  });

  for (const [title, spec] of Object.entries(SPECS)) {
    const where = spec.snippets.map((id) => marked.get(id)?.where ?? id).join(', ');
    it(`${title} (${where})`, async () => {
      const app = SnippetApp.create();
      try {
        const chosen = Object.fromEntries(spec.snippets.map((id) => [id, marked.get(id)]));
        for (const [id, block] of Object.entries(chosen)) {
          if (block === undefined) throw new Error(`no block is marked <!-- snippet: ${id} -->`);
        }
        await spec.check(chosen as Record<string, CodeBlock>, app);
      } finally {
        await app.close();
      }
    });
  }
});
