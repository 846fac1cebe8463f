import { expect } from 'chai';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppProcess } from '../register/app-process';

// A server created with `captureRejections: true` answers an async
// 'request' listener's rejection with a 500 (Node's own handling): with
// the timing instrumentation too, whichever of the two Server#emit wrappers
// (ours, OpenTelemetry HttpInstrumentation's) is outside, debugged or not,
// with one listener or two. Before, with HttpInstrumentation's wrapper
// beneath ours, the rejection went unhandled and ended the process.
// A real server process per setup (test/fixtures/server/capture-app.ts).

function get(url: string, headers: Record<string, string>): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject)
      // An unanswered rejection leaves the request hanging (or the process dead).
      .setTimeout(10_000, function (this: http.ClientRequest) {
        this.destroy(new Error('no answer in 10 s'));
      });
  });
}

/** The rejections the app saw go unhandled so far (its "check" answer). */
async function unhandledSoFar(app: AppProcess): Promise<number> {
  const from = app.stdout.length;
  app.child.stdin.write('check\n');
  for (let i = 0; i < 1000; i++) {
    const match = /checked (\d+)\n/.exec(app.stdout.slice(from));
    if (match !== null) return Number(match[1]);
    await sleep(10);
  }
  throw new Error(`no answer from the app; stderr: ${app.stderr}`);
}

describe('server: rejections of async request listeners, captured', function () {
  this.timeout(60_000);

  const SETUPS = [
    { setup: 'none', chain: ['ours', 'emit'] },
    { setup: 'otel-outside', chain: ['incomingRequest', 'ours', 'emit'] },
    { setup: 'otel-beneath', chain: ['ours', 'incomingRequest', 'emit'] },
  ];
  for (const { setup, chain } of SETUPS) {
    describe(setup, () => {
      let app: AppProcess;
      let urls: { one: string; two: string };

      before(async () => {
        app = new AppProcess(['--require', 'tsx', 'test/fixtures/server/capture-app.ts'], { SETUP: setup });
        const [, one, two, emitChain] = await app.waitFor(/ready (\S+) (\S+) (\S+)/, 30_000);
        // The wrapper order the setup says, or the test would prove nothing.
        expect(JSON.parse(emitChain)).to.deep.equal(chain);
        urls = { one, two };
      });
      after(async () => {
        await app.stop();
      });

      for (const debugged of [false, true]) {
        const headers: Record<string, string> = debugged ? { 'X-Request-Debug': '*' } : {};
        for (const listeners of ['one', 'two'] as const) {
          it(`${debugged ? 'debugged' : 'undebugged'}, ${listeners} listener${listeners === 'two' ? 's' : ''}: a 500, and the process lives on`, async () => {
            expect(await get(urls[listeners], headers)).to.equal(500);
            expect(await get(urls[listeners], headers)).to.equal(500);
            expect(await unhandledSoFar(app)).to.equal(0);
            expect(app.child.exitCode).to.equal(null);
          });
        }
      }
    });
  }
});
