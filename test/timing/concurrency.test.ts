import { expect } from 'chai';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { hookFunction, timing } from '../../src';
import { DiagCapture } from '../helpers/diag-capture';
import { close, listen, send } from '../helpers/http';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';

type Tree = Record<string, unknown> & { child?: Record<string, Tree> };

/** Two levels of hooked async operations, timed the way the instrumentations time theirs. */
const operations = {
  async outer(name: string): Promise<string> {
    await sleep(Math.random() * 4);
    return operations.inner(`${name}-inner`);
  },
  async inner(name: string): Promise<string> {
    await sleep(Math.random() * 4);
    return name;
  },
};
for (const key of ['outer', 'inner'] as const) {
  hookFunction('timing', operations, key, 1, {
    befores: [(name) => timing.enterContext(key === 'outer' ? name : 'inner')],
    afters: [() => timing.leaveContext()],
    errors: [() => timing.leaveContext()],
  });
}

function outputOf(reply: { headers: http.IncomingHttpHeaders }): Tree {
  return JSON.parse(reply.headers['x-request-debug-output'] as string) as Tree;
}

describe('request debugging under concurrency and failure', () => {
  const harness = timingHarness();
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  describe('500 concurrent requests, half of them debugged', () => {
    let server: http.Server;
    let base: string;
    before(async () => {
      server = http.createServer((req, res) => {
        const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
        timing.enterContext(`request_${id}`);
        void (async () => {
          await sleep(Math.random() * 5);
          await Promise.all([operations.outer('a'), operations.outer('b')]);
          timing.leaveContext();
          res.end(id);
        })();
      });
      base = await listen(server);
    });
    after(() => close(server));

    it('gives each debugged request a tree with only its own contexts, correctly nested', async () => {
      const replies = await Promise.all(
        Array.from({ length: 500 }, (_, id) =>
          send(`${base}/?id=${id}`, id % 2 === 0 ? { 'X-Request-Debug': '*' } : {}).then((reply) => ({ id, reply })),
        ),
      );
      const requestIds = new Set<string>();
      const traceIds = new Set<string>();
      for (const { id, reply } of replies) {
        expect(reply.body).to.equal(String(id));
        if (id % 2 === 1) {
          expect(reply.headers, `request ${id}`).to.not.have.property('x-request-debug-output');
          continue;
        }
        const tree = outputOf(reply);
        expect(Object.keys(tree.child ?? {}), `request ${id}`).to.have.members([
          'rewrite',
          `request_${id}`,
          'header_filter',
        ]);
        const own = tree.child?.[`request_${id}`];
        expect(Object.keys(own?.child ?? {}), `request ${id}`).to.have.members(['a', 'b']);
        for (const op of ['a', 'b']) {
          const node = own?.child?.[op];
          expect(Object.keys(node?.child ?? {}), `request ${id} ${op}`).to.deep.equal(['inner']);
          expect(node?.total_time).to.be.at.least(node?.child?.inner.total_time as number);
          expect(node?.dangling, `request ${id} ${op}`).to.equal(undefined);
        }
        requestIds.add(tree.request_id as string);
        traceIds.add(tree.trace_id as string);
      }
      expect(requestIds.size).to.equal(250);
      expect(traceIds.size).to.equal(250);
    });
  });

  describe('failures', () => {
    let server: http.Server;
    let base: string;
    before(async () => {
      server = http.createServer((req, res) => {
        const path = req.url ?? '/';
        // A framework-style error boundary: the handler throws, the framework answers 500.
        try {
          if (path === '/throw') {
            timing.enterContext('work');
            throw new Error('handler failed');
          }
          if (path === '/slow') {
            timing.enterContext('slow');
            setTimeout(() => res.end('late'), 300);
            return;
          }
          res.end('ok');
        } catch {
          res.statusCode = 500;
          res.end('error');
        }
      });
      base = await listen(server);
    });
    after(() => close(server));

    it('ends every context when the handler throws (when its error response starts)', async () => {
      const reply = await send(`${base}/throw`, { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' });
      expect(reply.status).to.equal(500);
      const tree = outputOf(reply);
      expect(tree.child?.work.dangling).to.equal(undefined);
      expect(tree.dangling).to.equal(undefined);
      expect(Object.keys(tree.child ?? {})).to.deep.equal(['rewrite', 'work', 'header_filter']);
      await eventually(() => harness.spans().some((s) => s.name.startsWith('request_debug')));
      expect(harness.spans().map((s) => s.name)).to.include.members(['rewrite', 'work', 'header_filter', 'log']);
    });

    it('ends every context and still logs when the client aborts', async () => {
      const aborted = new Promise<void>((resolve) => {
        const req = http.request(`${base}/slow`, {
          headers: { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' },
          agent: false,
        });
        req.on('error', () => resolve());
        req.end();
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
      await aborted;
      await eventually(() => harness.logLines.length > 0);
      const tree = parseLogOutput(harness.logLines) as Tree;
      expect(tree.dangling).to.equal(true);
      expect(tree.child?.slow.dangling).to.equal(true);
      expect(tree.child).to.include.keys('rewrite', 'slow', 'log');
      const names = harness.spans().map((s) => s.name);
      expect(names).to.include.members(['rewrite', 'slow', 'log', 'request_debug GET']);
      await sleep(350); // the late res.end() after the abort must not break anything
    });

    it('isolates a timing handler that throws: the request and its output go on', async () => {
      const capture = new DiagCapture().install();
      const target = {
        step(): number {
          return 1;
        },
      };
      const unhook = hookFunction('timing', target, 'step', 0, {
        befores: [
          () => {
            throw new Error('broken timing handler');
          },
        ],
      });
      const failing = http.createServer((_req, res) => {
        res.end(String(target.step()));
      });
      const url = await listen(failing);
      try {
        const reply = await send(url, { 'X-Request-Debug': '*' });
        expect(reply.body).to.equal('1');
        expect(outputOf(reply).child).to.include.keys('rewrite', 'header_filter');
        expect(capture.warnings().join('\n')).to.include('timing.before:step: Error: broken timing handler');
      } finally {
        unhook();
        capture.uninstall();
        await close(failing);
      }
    });
  });
});
