import { expect } from 'chai';
import { runScript } from '../helpers/run-node';

// The server integration decides whether a request is debugged when Node
// publishes http.server.request.start, before any wrapper of the server's
// emit runs, only where a wrapper outside ours needs that: while ours is
// the outermost, requests pay for no publication. Fresh processes: the
// subscription is process-wide.

const SERVER = `
  const diagnostics = require('node:diagnostics_channel');
  const { trace } = require('@opentelemetry/api');
  const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
  const lib = require('./src');
  const timing = new lib.TimingInstrumentation();
  timing.setTracerProvider(new BasicTracerProvider());
  const http = require('node:http');
  const observed = () => diagnostics.channel('http.server.request.start').hasSubscribers;
  const get = (port, headers = {}) =>
    new Promise((resolve, reject) =>
      http.get({ port, host: '127.0.0.1', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['x-request-debug-output'] !== undefined));
      }).on('error', reject));
  const server = http.createServer((req, res) => res.end(String(lib.isGroupEnabled('timing'))));
`;

describe('observing the start of requests', function () {
  this.timeout(30_000);

  it('is left off while our emit wrapper is the outermost; debugging still works', async () => {
    const out = await runScript(`${SERVER}
      server.listen(0, '127.0.0.1', async () => {
        const { port } = server.address();
        const debugged = await get(port, { 'X-Request-Debug': '*' });
        const plain = await get(port);
        console.log(JSON.stringify({ observed: observed(), debugged, plain }));
        server.close();
      });
    `);
    expect(JSON.parse(out)).to.deep.equal({ observed: false, debugged: true, plain: false });
  });

  it('is on once a wrapper outside ours is seen at the first request after it came', async () => {
    const out = await runScript(`${SERVER}
      server.listen(0, '127.0.0.1', async () => {
        const { port } = server.address();
        const inner = server.emit;
        server.emit = function (...args) { return inner.apply(this, args); };
        const answers = { beforeRequest: observed() };
        answers.debugged = await get(port, { 'X-Request-Debug': '*' });
        answers.afterRequest = observed();
        console.log(JSON.stringify(answers));
        server.close();
      });
    `);
    expect(JSON.parse(out)).to.deep.equal({ beforeRequest: false, debugged: true, afterRequest: true });
  });

  it('is on at listen with a wrapper outside ours; stops while the timing instrumentation is disabled', async () => {
    const out = await runScript(`${SERVER}
      server.emit = ((inner) => function (...args) { return inner.apply(this, args); })(server.emit);
      server.listen(0, '127.0.0.1', () => {
        const answers = { listening: observed() };
        timing.disable();
        answers.disabled = observed();
        timing.enable();
        answers.enabled = observed();
        console.log(JSON.stringify(answers));
        server.close();
      });
    `);
    expect(JSON.parse(out)).to.deep.equal({ listening: true, disabled: false, enabled: true });
  });
});
