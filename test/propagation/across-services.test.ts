import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { send } from '../helpers/http';
import { OtlpReceiver, type OtlpSpan } from '../helpers/otlp-receiver';
import { PROJECT_ROOT } from '../helpers/run-node';
import { eventually } from '../helpers/timing-harness';
import { nodeAt, type Tree } from '../helpers/debugged';

const TOKEN = 'shared-secret';

/** A service of test/fixtures/propagation in its own process. */
class Service {
  private readonly child: ChildProcessWithoutNullStreams;
  private stdout = '';
  private stderr = '';

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--require', 'tsx', join('test', 'fixtures', 'propagation', 'service.ts')], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, OTEL_LOG_LEVEL: 'error', SERVICE_NAME: name, ...env },
    });
    this.child.stdout.on('data', (chunk) => (this.stdout += String(chunk)));
    this.child.stderr.on('data', (chunk) => (this.stderr += String(chunk)));
  }

  async url(): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const match = /listening (\S+)\n/.exec(this.stdout);
      if (match) return match[1];
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`service ${this.name} did not start: ${this.stderr}`);
      }
      await sleep(20);
    }
  }

  get errors(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin.write('shutdown\n');
    await Promise.race([once(this.child, 'exit'), sleep(5000)]);
    if (this.child.exitCode === null) this.child.kill();
  }
}

/** What a service's JSON reply tells. */
interface Seen {
  readonly service: string;
  readonly myGroup: boolean;
  readonly timing: boolean;
  readonly baggage: Record<string, string>;
  readonly receivedBaggage: string | null;
  readonly receivedTraceparent: string | null;
  readonly calls: { status: number; outputHeader: string | null; body: Seen }[];
}

function outputOf(headers: Record<string, unknown>): Tree | undefined {
  const value = headers['x-request-debug-output'];
  return typeof value === 'string' ? (JSON.parse(value) as Tree) : undefined;
}

describe('debugging one request across services (SignedGroupsPropagator)', function () {
  this.timeout(60_000);
  let receiver: OtlpReceiver;
  let a: Service, b: Service, c: Service, d: Service;
  let urls: Record<'a' | 'b' | 'c' | 'd', string>;

  before(async () => {
    receiver = await new OtlpReceiver().start();
    const common = { OTLP_TRACES_URL: receiver.tracesUrl, DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN };
    b = new Service('b', common);
    c = new Service('c', common);
    // d shares the deployment but not its token.
    d = new Service('d', { ...common, DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'another-secret' });
    const [bUrl, cUrl, dUrl] = await Promise.all([b.url(), c.url(), d.url()]);
    a = new Service('a', { ...common, DOWNSTREAM: [bUrl, cUrl, dUrl].join(',') });
    urls = { a: await a.url(), b: bUrl, c: cUrl, d: dUrl };
  });
  after(async () => {
    await Promise.all([a, b, c, d].filter((s) => s !== undefined).map((s) => s.stop()));
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.spans.length = 0;
  });

  /** The spans that arrive for `traceId` once each of `services` sent its debug root span. */
  async function traceOf(traceId: string, services: readonly string[]): Promise<OtlpSpan[]> {
    const ofTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    await eventually(
      () =>
        services.every((name) => ofTrace().some((s) => s.serviceName === name && s.name.startsWith('request_debug'))),
      10_000,
    );
    await sleep(200); // the last spans of the slowest service
    return ofTrace();
  }

  it('a signed debug request is timed in every service with the token, in one trace, nested in the edge output', async () => {
    const reply = await send(`${urls.a}/?enable=my_group`, { 'X-Request-Debug': '*', baggage: 'tenant=acme' });
    const tree = outputOf(reply.headers);
    const seen = JSON.parse(reply.body) as Seen;
    expect(tree, 'edge output').to.be.an('object');
    const traceId = tree?.trace_id as string;
    expect(traceId).to.match(/^[0-9a-f]{32}$/);

    const [toB, toC, toD] = seen.calls;
    for (const [call, name] of [
      [toB, 'b'],
      [toC, 'c'],
    ] as const) {
      expect(call.body.timing, `${name} debugged`).to.equal(true);
      expect(call.body.myGroup, `my_group enabled in ${name}`).to.equal(true);
      expect(call.body.baggage, `${name}'s application baggage: the caller's entries, not ours`).to.deep.equal({
        tenant: 'acme',
      });
      expect(call.body.receivedTraceparent).to.contain(traceId);
      expect(call.outputHeader, 'the nested output is taken out of the response').to.equal(null);
      const httpRequest = nodeAt(tree, 'handler', 'external_http', urls[name], 'http_request');
      const downstream = httpRequest.downstream as Tree[];
      expect(downstream, `${name}'s output nested under its http_request`).to.have.length(1);
      expect(downstream[0].trace_id, 'one trace').to.equal(traceId);
      expect(nodeAt(downstream[0], 'handler').total_time).to.be.a('number');
      expect(downstream[0].child).to.have.keys('rewrite', 'handler', 'header_filter');
    }
    expect(toD.body.timing, 'd has another token').to.equal(false);
    expect(toD.body.myGroup).to.equal(false);
    expect(nodeAt(tree, 'handler', 'external_http', urls.d, 'http_request')).to.not.have.property('downstream');
    expect(seen.myGroup).to.equal(true);

    const spans = await traceOf(traceId, ['a', 'b', 'c']);
    const roots = spans.filter((s) => s.name === 'request_debug GET');
    expect(roots.map((s) => s.serviceName)).to.have.members(['a', 'b', 'c']);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const name of ['b', 'c']) {
      const root = roots.find((s) => s.serviceName === name);
      expect(root?.attributes['dynamic_hooks.request_id']).to.be.a('string');
      // b's and c's debug roots hang under a's spans: a's client call, through their own server spans.
      let span = root;
      const services = new Set<string | undefined>();
      while (span?.parentSpanId !== undefined && byId.has(span.parentSpanId)) {
        span = byId.get(span.parentSpanId);
        services.add(span?.serviceName);
      }
      expect([...services], `${name}'s ancestry`).to.include('a');
      expect(spans.some((s) => s.serviceName === name && s.name === 'handler')).to.equal(true);
    }
    expect(
      spans.filter((s) => s.serviceName === 'd' && s.attributes['dynamic_hooks.request_debug'] === true),
    ).to.deep.equal([]);
    for (const service of [a, b, c, d]) expect(service.errors).to.equal('');
  });

  it('an outside client sending the entries unsigned, or signed with a guessed token, switches nothing on', async () => {
    const traceparent = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
    const forged = [
      'dynamic-hooks.groups=timing%2Cmy_group',
      'dynamic-hooks.groups=timing%2Cmy_group,dynamic-hooks.sig=1795615179.S0jzBn3z1NCdoR2Z3euBgc1TnHMI0CrxY-aJuRjmFpU',
    ];
    for (const baggage of forged) {
      for (const target of [urls.a, urls.b]) {
        const reply = await send(`${target}/`, { baggage: `tenant=acme,${baggage}`, traceparent });
        const seen = JSON.parse(reply.body) as Seen;
        expect(outputOf(reply.headers), baggage).to.equal(undefined);
        for (const s of [seen, ...seen.calls.map((call) => call.body)]) {
          expect(s.timing, `${s.service}: ${baggage}`).to.equal(false);
          expect(s.myGroup, `${s.service}: ${baggage}`).to.equal(false);
          expect(s.baggage, `${s.service} sees no dynamic-hooks entries`).to.deep.equal({ tenant: 'acme' });
        }
        for (const call of seen.calls) {
          expect(call.body.receivedBaggage, 'a forwards none of them').to.equal('tenant=acme');
        }
      }
    }
    await sleep(300);
    expect(receiver.spans.filter((s) => s.attributes['dynamic_hooks.request_debug'] === true)).to.deep.equal([]);
  });

  it('a captured signature works only for its own trace, groups and token', async () => {
    const reply = await send(`${urls.a}/`, { 'X-Request-Debug': '*' });
    const toB = (JSON.parse(reply.body) as Seen).calls[0];
    const baggage = toB.body.receivedBaggage as string;
    const traceparent = toB.body.receivedTraceparent as string;
    expect(baggage).to.match(/dynamic-hooks\.groups=timing,dynamic-hooks\.sig=\d+\.[\w-]{43}$/);

    const debugged = async (target: string, headers: Record<string, string>) => {
      const r = await send(`${target}/`, headers);
      return { output: outputOf(r.headers), seen: JSON.parse(r.body) as Seen };
    };
    // Replayed as is: the same trace, within maxAgeSeconds (the documented replay window).
    const replay = await debugged(urls.b, { baggage, traceparent });
    expect(replay.seen.timing).to.equal(true);
    expect(replay.output?.trace_id).to.equal(traceparent.split('-')[1]);

    const tampered: Record<string, Record<string, string>> = {
      'groups widened': { baggage: baggage.replace('groups=timing', 'groups=timing%2Cmy_group'), traceparent },
      'other trace': { baggage, traceparent: traceparent.replace(/^00-.{4}/, '00-0000') },
      'signature altered': { baggage: baggage.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A')), traceparent },
      'no traceparent': { baggage },
    };
    for (const [name, headers] of Object.entries(tampered)) {
      const { output, seen } = await debugged(urls.b, headers);
      expect(output, name).to.equal(undefined);
      expect(seen.timing, name).to.equal(false);
      expect(seen.myGroup, name).to.equal(false);
    }
    const wrongToken = await debugged(urls.d, { baggage, traceparent });
    expect(wrongToken.output).to.equal(undefined);
    expect(wrongToken.seen.timing).to.equal(false);
  });
});
