// A span processor that throws (an application's own, or a broken exporter
// wrapper) must not take the process down when a debugged request's root
// span ends, which happens in the response's 'close' listener, and the
// request's scope must end all the same.
import { expect } from 'chai';
import { runScript } from '../helpers/run-node';

const SCRIPT = `
  const { diag, DiagLogLevel } = require('@opentelemetry/api');
  const { BasicTracerProvider, AlwaysOnSampler } = require('@opentelemetry/sdk-trace-base');
  const { TimingInstrumentation, enableOnThisRequest, listGroups, RequestDebugSampler } = require('./src');
  diag.setLogger(
    { error: () => {}, warn: (m) => process.stdout.write('WARN ' + m.split('\\n')[0] + '\\n'), info: () => {}, debug: () => {}, verbose: () => {} },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const throwing = {
    onStart: () => {},
    onEnd: (span) => { if (span.name.startsWith('request_debug')) throw new Error('processor broke'); },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({ sampler: new RequestDebugSampler(new AlwaysOnSampler()), spanProcessors: [throwing] });
  const instrumentation = new TimingInstrumentation({ logger: () => {} });
  instrumentation.setTracerProvider(provider);
  const http = require('node:http');
  const app = http.createServer((req, res) => {
    enableOnThisRequest('held');
    res.end('served');
  });
  app.listen(0, '127.0.0.1', () => {
    const headers = { 'X-Request-Debug': '*' };
    http.get({ port: app.address().port, host: '127.0.0.1', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => setTimeout(() => {
        const held = listGroups().find((g) => g.name === 'held');
        process.stdout.write('REPLY ' + res.statusCode + ' scopes ' + held.enabledScopes + '\\n');
        process.stdout.write('survived\\n');
        app.close();
      }, 200));
    });
  });
`;

describe('hardening: a span processor that throws', () => {
  it('is reported, and the debugged request still ends its scope', async () => {
    const out = await runScript(SCRIPT);
    expect(out).to.include('REPLY 200 scopes 0');
    expect(out).to.include('survived');
    expect(out).to.match(/WARN .*processor broke/);
  });
});
