import { expect } from 'chai';
import { send } from '../helpers/http';
import { appsOfSuite, CJS_APP, debugRequest, FIXTURES, upstreamOfSuite } from './ops-apps';

// Issue 10, item 7: what the operator must see (the generated debug token, a
// bad DYNAMIC_HOOKS_* setting) reaches stderr as one `[dynamic-hooks]` line,
// whether or not a diag logger is set, and whenever it is set.

/** Makes every request come from a non-loopback client, which needs the token. */
const REMOTE_CLIENT_ENV = {
  DYNAMIC_HOOKS_TRUSTED_PROXIES: '127.0.0.1',
  DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER: 'x-real-ip',
};
const REMOTE = { 'X-Real-IP': '203.0.113.7' };
const TOKEN_LINE = /^request debugging is on; token for non-loopback clients .*: ([0-9a-f-]{36})$/;

describe('messages that reach the operator', function () {
  this.timeout(30_000);
  const startApp = appsOfSuite();
  const upstream = upstreamOfSuite();
  const IN_CODE = ['--require', 'tsx', `${FIXTURES}/ops-in-code-app.ts`];
  const ZERO_CODE = ['--require', 'dynamic-hooks/register', CJS_APP];

  function start(nodeArgs: readonly string[], env: NodeJS.ProcessEnv) {
    return startApp(nodeArgs, {
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      UPSTREAM_URL: upstream(),
      ...env,
    });
  }

  /** The token the app announced, after checking that it is announced once and that it opens debugging. */
  async function announcedToken(app: ReturnType<typeof start>, url: string): Promise<string> {
    const lines = app.operatorLines().filter((line) => TOKEN_LINE.test(line));
    expect(lines, app.stderr).to.have.length(1);
    const token = (TOKEN_LINE.exec(lines[0]) as RegExpExecArray)[1];
    const refused = await send(url, { 'X-Request-Debug': '*', ...REMOTE });
    expect(refused.headers, 'no token, no output').to.not.have.property('x-request-debug-output');
    await debugRequest(url, { 'X-Request-Debug-Token': token, ...REMOTE });
    return token;
  }

  for (const [setup, nodeArgs] of [
    ['in code, TimingInstrumentation constructed before NodeSDK', IN_CODE],
    ['zero-code start', ZERO_CODE],
  ] as const) {
    describe(setup, () => {
      for (const logLevel of [undefined, 'info']) {
        it(`announces the generated token once on stderr (OTEL_LOG_LEVEL ${logLevel ?? 'unset'})`, async () => {
          const app = start(nodeArgs, {
            ...REMOTE_CLIENT_ENV,
            ...(logLevel === undefined ? {} : { OTEL_LOG_LEVEL: logLevel }),
          });
          await announcedToken(app, await app.ready());
        });
      }

      it('never prints a token the operator configured', async () => {
        const app = start(nodeArgs, {
          ...REMOTE_CLIENT_ENV,
          OTEL_LOG_LEVEL: 'info',
          DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'configured-secret',
        });
        const url = await app.ready();
        await debugRequest(url, { 'X-Request-Debug-Token': 'configured-secret', ...REMOTE });
        app.child.kill('SIGTERM');
        await app.closed;
        expect(app.stdout + app.stderr).to.not.contain('configured-secret');
        expect(app.operatorLines().filter((line) => TOKEN_LINE.test(line))).to.deep.equal([]);
      });

      it('reports every bad DYNAMIC_HOOKS_* setting once on stderr, without OTEL_LOG_LEVEL', async () => {
        const app = start(nodeArgs, {
          DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'configured',
          DYNAMIC_HOOKS_REQUEST_DEBUG: 'maybe',
          DYNAMIC_HOOKS_TRUSTED_HOPS: 'lots',
          DYNAMIC_HOOKS_TRUSTED_PROXIES: 'everyone',
          DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER: 'x-client',
          // Resolved again three times: still one line each.
          RECONFIGURE: '3',
        });
        const url = await app.ready();
        // Each bad setting was ignored: debugging still on, for a loopback client.
        await debugRequest(url);
        const lines = app.operatorLines();
        for (const name of [
          'DYNAMIC_HOOKS_REQUEST_DEBUG=',
          'DYNAMIC_HOOKS_TRUSTED_HOPS ignored',
          'DYNAMIC_HOOKS_TRUSTED_PROXIES ignored',
          'DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER ignored',
        ]) {
          expect(
            lines.filter((line) => line.startsWith(name)),
            `${name} in:\n${app.stderr}`,
          ).to.have.length(1);
        }
        expect(lines.find((line) => line.startsWith('DYNAMIC_HOOKS_REQUEST_DEBUG='))).to.contain('"maybe"');
      });
    });
  }

  it('reports the register’s own bad settings on stderr, without OTEL_LOG_LEVEL', async () => {
    const app = start(ZERO_CODE, {
      DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'configured',
      DYNAMIC_HOOKS_INSTRUMENTATIONS: 'dns,carrier-pigeon',
      DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS: 'soon',
      OTEL_TRACES_SAMPLER: 'sometimes',
    });
    await debugRequest(await app.ready());
    const lines = app.operatorLines();
    expect(
      lines.some((line) => /^DYNAMIC_HOOKS_INSTRUMENTATIONS: .*carrier-pigeon/.test(line)),
      app.stderr,
    ).to.equal(true);
    expect(
      lines.some((line) => /^DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS .*"soon"/.test(line)),
      app.stderr,
    ).to.equal(true);
    expect(
      lines.some((line) => /OTEL_TRACES_SAMPLER "sometimes"/.test(line)),
      app.stderr,
    ).to.equal(true);
  });
});
