import { expect } from 'chai';
import { runNode } from '../helpers/run-node';

// On Node 20 and 22, the first context OpenTelemetry's AsyncLocalStorage
// context manager enters switches AsyncLocalStorage's async hooks on for
// every async operation of the process, for good (+10 to +15 us per request
// of a promise-heavy gateway). A dormant instrumentation must not be what
// switches them on: neither the gates' first-call probes nor what those
// leave behind (listeners bound to the root context). Once the group is
// enabled, contexts propagate as usual. On Node 24 there are no hooks to
// switch on; the spans are checked alike. Express's instrumentation wraps
// route layers at startup (a patch that installs patches): the probe finds
// it without the hooks too.
const INTERNAL = 0;
const SERVER = 1;
const CLIENT = 2;

describe('dormant instrumentations and AsyncLocalStorage hooks', function () {
  this.timeout(60_000);

  it('leaves the hooks off while dormant, and propagates contexts once enabled', async () => {
    const out = await runNode(['--require', 'tsx', 'test/fixtures/otel/dormant-idle-hooks.ts']);
    const result = JSON.parse(out) as {
      bodies: string[];
      hooksWhileDormant: boolean | null;
      dormantSpans: number;
      enabledSpans: { name: string; kind: number; parentKind: number | null }[];
    };
    expect(result.bodies).to.deep.equal(new Array(6).fill('front upstream'));
    if (result.hooksWhileDormant !== null) expect(result.hooksWhileDormant, 'async hooks switched on').to.equal(false);
    expect(result.dormantSpans).to.equal(0);
    // Per enabled request: the fixture's own client span; the front's
    // SERVER span under it (named after the Express route); Express's
    // request handler span under that (only there if the route layer was
    // wrapped when it was declared, at startup, while dormant); the front's
    // CLIENT span to the upstream under the handler's (across a promise:
    // only a propagated context gets it there); the upstream's SERVER span.
    const spans = result.enabledSpans.map(
      ({ name, kind, parentKind }) => `${name} ${String(kind)}<${String(parentKind)}`,
    );
    expect(spans.sort()).to.deep.equal(
      [
        `GET ${String(CLIENT)}<null`,
        `GET / ${String(SERVER)}<${String(CLIENT)}`,
        `request handler ${String(INTERNAL)}<${String(SERVER)}`,
        `GET ${String(CLIENT)}<${String(INTERNAL)}`,
        `GET ${String(SERVER)}<${String(CLIENT)}`,
      ]
        .flatMap((span) => [span, span, span])
        .sort(),
    );
  });

  it("propagates the application's own contexts in code the first calls run", async () => {
    const out = await runNode(['--require', 'tsx', 'test/fixtures/otel/dormant-idle-hooks.ts'], undefined, {
      APP_CONTEXT: '1',
    });
    const { bodies } = JSON.parse(out) as { bodies: string[] };
    expect(bodies).to.deep.equal(new Array(6).fill('front upstream app-context'));
  });
});
