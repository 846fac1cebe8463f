import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScript } from '../helpers/run-node';

describe('debug rules: the flag file watch', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dh-flags-exit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('never keeps the process alive once its work is done', async () => {
    const file = join(dir, 'flags.json');
    const flags = {
      'dynamic-hooks.timing': {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: { if: [{ '==': [{ var: 'path' }, '/debug-me'] }, 'on', null] },
      },
    };
    writeFileSync(file, JSON.stringify({ flags }));
    const started = Date.now();
    const stdout = await runScript(`
      const http = require('node:http');
      const { TimingInstrumentation, debugRulesFromFlags } = require('./src');
      new TimingInstrumentation({ logger: (line) => console.log(line) });
      debugRulesFromFlags({ file: ${JSON.stringify(file)} });
      const server = http.createServer((req, res) => res.end('ok'));
      server.listen(0, '127.0.0.1', () => {
        http.get('http://127.0.0.1:' + server.address().port + '/debug-me', { agent: false }, (res) => {
          res.resume();
          res.on('end', () => server.close(() => console.log('work done')));
        });
      });
    `);
    expect(stdout).to.include('work done');
    expect(stdout).to.match(/\[request-debug\] request_id: \S+ output: /);
    // The poll interval is 1 s: a persistent watcher would keep the process alive forever (runScript times out).
    expect(Date.now() - started).to.be.below(15_000);
  });
});
