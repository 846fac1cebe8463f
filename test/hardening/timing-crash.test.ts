// Items 1 and 2 of issue 9, where the symptom is a dead process: each case
// runs a real debugged server in a child process, with log output on, and
// asserts that the process is still alive after the response has closed
// (the log phase runs in the response's 'close' listener, where a throw
// escapes to the process).
import { expect } from 'chai';
import { runScript } from '../helpers/run-node';

/** The child: an upstream, a debugged app whose handler does `work`, one request to it, then "survived". */
function script(work: string, logger = '(line) => process.stdout.write(`LOG ${line.length}\\n`)'): string {
  return `
    const { diag, DiagLogLevel } = require('@opentelemetry/api');
    const { TimingInstrumentation, timing } = require('./src');
    const { HttpClientInstrumentation } = require('./instrumentations');
    const say = (level) => (message) => process.stdout.write(level + ' ' + message.split('\\n')[0] + '\\n');
    diag.setLogger(
      { error: say('ERROR'), warn: say('WARN'), info: () => {}, debug: () => {}, verbose: () => {} },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    new TimingInstrumentation({ logger: ${logger} });
    new HttpClientInstrumentation();
    const http = require('node:http');
    const DEEP = '{"a":' + '['.repeat(7000) + ']'.repeat(7000) + '}';
    const upstream = http.createServer((req, res) => {
      res.setHeader('X-Request-Debug-Output', DEEP);
      res.end('upstream');
    });
    const app = http.createServer((req, res) => {
      const done = (body) => res.end(body);
      ${work}
    });
    const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
    (async () => {
      const upstreamPort = await listen(upstream);
      globalThis.upstreamUrl = 'http://127.0.0.1:' + upstreamPort + '/';
      const port = await listen(app);
      const headers = { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' };
      const reply = await new Promise((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', headers, agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body, output: res.headers['x-request-debug-output'] }));
        }).on('error', reject);
      });
      process.stdout.write('REPLY ' + reply.status + ' ' + reply.body + ' ' + typeof reply.output + '\\n');
      // The log phase runs once the response has closed: give it time to fail.
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.stdout.write('survived\\n');
      upstream.close();
      app.close();
    })();
  `;
}

describe('hardening: a debugged request with log output on cannot kill the process', () => {
  it('a hostile upstream output (7,000 deep, 14 KB), through http.get', async () => {
    const out = await runScript(
      script(`http.get(globalThis.upstreamUrl, (r) => { r.resume(); r.on('end', () => done('served')); });`),
    );
    expect(out).to.include('REPLY 200 served string');
    expect(out).to.match(/^LOG \d+$/m);
    expect(out).to.include('survived');
  });

  for (const [name, value] of [
    ['a bigint', '10n'],
    ['a circular object', '(() => { const o = {}; o.self = o; return o; })()'],
  ]) {
    it(`setContextProp with ${name} throws a TypeError to its caller, and the tree is intact`, async () => {
      const out = await runScript(
        script(`
          try { timing.setContextProp('n', ${value}); } catch (error) { process.stdout.write('CAUGHT ' + error.name + '\\n'); }
          done('served');
        `),
      );
      expect(out).to.include('CAUGHT TypeError');
      expect(out).to.include('REPLY 200 served string');
      expect(out).to.include('survived');
    });
  }

  it('5,000 nested contexts', async () => {
    const out = await runScript(
      script(`
        for (let i = 0; i < 5000; i++) timing.enterContext('c' + i);
        for (let i = 0; i < 5000; i++) timing.leaveContext();
        done('served');
      `),
    );
    expect(out).to.include('REPLY 200 served string');
    expect(out).to.include('survived');
  });

  it('a logger that throws is reported through diag.warn', async () => {
    const out = await runScript(script(`done('served');`, `() => { throw new Error('logger is down'); }`));
    expect(out).to.include('REPLY 200 served string');
    expect(out).to.match(
      /^WARN dynamic-hooks timing: the logger of request [0-9a-f-]{36} failed: Error: logger is down$/m,
    );
    expect(out).to.include('survived');
  });

  it('a logger whose promise rejects is reported through diag.warn', async () => {
    const out = await runScript(script(`done('served');`, `async () => { throw new Error('logger is down'); }`));
    expect(out).to.match(
      /^WARN dynamic-hooks timing: the logger of request [0-9a-f-]{36} failed: Error: logger is down$/m,
    );
    expect(out).to.include('survived');
  });
});
