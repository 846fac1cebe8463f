import { expect } from 'chai';
import http from 'node:http';
import { AppProcess } from '../register/app-process';

// The request scope rides on the context OpenTelemetry's HttpInstrumentation
// makes for each request (whichever of the two Server#emit wrappers is
// outside), instead of a context of its own; without it, it takes its own.
// Either way every request sees only its own groups, through timers,
// promises and emitters, on keep-alive connections opened in a context of
// the application's, and nothing is left enabled once the requests are over.
// A real server process per setup (test/fixtures/server/ride-app.ts).

interface Answer {
  readonly seen: Record<string, boolean>;
  readonly ridden: boolean;
  readonly otel: boolean;
  readonly traceId: string | undefined;
}

const SETUPS = [
  { setup: 'none', chain: ['ours', 'emit'] },
  { setup: 'otel-outside', chain: ['incomingRequest', 'ours', 'emit'] },
  { setup: 'otel-beneath', chain: ['ours', 'incomingRequest', 'emit'] },
  { setup: 'impostor-outside', chain: ['incomingRequest', 'ours', 'emit'] },
] as const;

/** Whether requests run in the very context HttpInstrumentation made for them (the impostor makes none). */
function ridesIn(setup: string): boolean {
  return setup === 'otel-outside' || setup === 'otel-beneath';
}

function get(
  agent: http.Agent,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ headers: res.headers, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('the request scope on a context an instrumentation made for the request', function () {
  this.timeout(60_000);

  for (const { setup, chain } of SETUPS) {
    describe(setup, () => {
      let app: AppProcess;
      let url: string;
      // Few sockets for many requests: each connection serves requests that enable the group and requests that do not.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });

      before(async () => {
        app = new AppProcess(['--require', 'tsx', 'test/fixtures/server/ride-app.ts'], { SETUP: setup });
        const [, ready, emitChain] = await app.waitFor(/ready (\S+) (\S+)/, 30_000);
        url = ready;
        // The wrapper order the setup says, or the test would prove nothing.
        expect(JSON.parse(emitChain)).to.deep.equal(chain);
      });
      after(async () => {
        agent.destroy();
        await app.stop();
      });

      // More than the 64 requests after which the library takes an outer wrapper's per-request contexts on trust.
      it('150 interleaved requests, half enabling a group, each see only their own state', async () => {
        const answers = await Promise.all(
          Array.from({ length: 150 }, async (_, i) => {
            const enable = i % 2 === 0;
            const delay = (i * 7) % 23;
            const { body } = await get(agent, `${url}/?enable=${enable ? 1 : 0}&delay=${delay}`);
            return { enable, answer: JSON.parse(body) as Answer };
          }),
        );
        for (const { enable, answer } of answers) {
          expect(answer.seen, JSON.stringify(answer)).to.deep.equal({
            start: false,
            sync: enable,
            timer: enable,
            promise: enable,
            emitter: enable,
          });
          // With HttpInstrumentation, the handler runs in the very context it made for the request;
          // never in the connection's context the impostor ran it in.
          expect(answer.otel).to.equal(setup !== 'none');
          expect(answer.ridden).to.equal(ridesIn(setup));
        }
        const traces = answers.map(({ answer }) => answer.traceId);
        if (ridesIn(setup)) expect(new Set(traces).size).to.equal(150);
      });

      it('a debug request gets its output, in the trace of the server span', async () => {
        const { headers, body } = await get(agent, `${url}/?enable=0`, { 'X-Request-Debug': '*' });
        const output = JSON.parse(headers['x-request-debug-output'] as string) as { trace_id: string };
        const answer = JSON.parse(body) as Answer;
        expect(answer.seen.start).to.equal(false);
        if (ridesIn(setup)) expect(output.trace_id).to.equal(answer.traceId);
        const plain = await get(agent, `${url}/?enable=0`);
        expect(plain.headers).to.not.have.property('x-request-debug-output');
      });

      it('leaves nothing enabled outside the requests, nor in the context the server listened in', async () => {
        await get(agent, `${url}/?enable=1`);
        app.stdout = '';
        app.child.stdin.write('check\n');
        const [, checked] = await app.waitFor(/checked (\{.*\})/);
        expect(JSON.parse(checked)).to.deep.equal({ outside: false, inListenContext: false, enabledScopes: 0 });
      });
    });
  }
});
