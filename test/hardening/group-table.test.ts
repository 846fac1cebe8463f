import { propagation } from '@opentelemetry/api';
import { core } from '@opentelemetry/sdk-node';
import { expect } from 'chai';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { hook, isGroupEnabled, listGroups, SignedGroupsPropagator } from '../../src';
import { MAX_TRANSIENT_GROUPS } from '../../src/core/group-state';
import { DiagCapture } from '../helpers/diag-capture';
import { close, getOverAgent as get, listen } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';

// Issue 9, item 11: groups that only remote input (signed baggage from a
// calling service) names get transient entries in the group table, removed
// when the request ends and capped in number, so a flood of signed requests
// with random group names cannot grow the table; groups the process knows
// are enabled as before.

const TOKEN = 'hardening-shared-secret';
const KNOWN = 'hardening-known-group';

/** The signature as the README documents it, computed independently of the library. */
function signature(traceId: string, groups: string, issuedAt: number): string {
  const message = `dynamic-hooks/v1\n${traceId}\n${groups}\n\n${issuedAt}`;
  return `${issuedAt}.${createHmac('sha256', TOKEN).update(message).digest('base64url')}`;
}

/** The headers a calling service sends for `names`: a new trace, and its groups signed in `baggage`. */
function signedHeaders(names: readonly string[]): Record<string, string> {
  const traceId = randomBytes(16).toString('hex');
  const groups = names.map(encodeURIComponent).join(',');
  const sig = signature(traceId, groups, Math.floor(Date.now() / 1000));
  return {
    traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    baggage: `tenant=acme,dynamic-hooks.groups=${encodeURIComponent(groups)},dynamic-hooks.sig=${sig}`,
  };
}

function randomNames(count: number): string[] {
  return Array.from({ length: count }, () => `flood-${randomBytes(6).toString('hex')}`);
}

describe('hardening: propagated groups cannot grow the group table', function () {
  this.timeout(180_000);
  const harness = timingHarness();
  const diagnostics = new DiagCapture();
  let server: http.Server;
  let url: string;
  let agent: http.Agent;
  /** The largest table size seen while requests ran (sampled). */
  let maxTable = 0;
  /** Per request: what the handler saw of the groups it was asked about. */
  let probe: (req: http.IncomingMessage) => string;

  before(async () => {
    harness.configure({});
    // A group the process knows: something registered a hook on it.
    hook(KNOWN, 'probe', () => undefined);
    propagation.disable();
    propagation.setGlobalPropagator(
      new core.CompositePropagator({
        propagators: [
          new core.W3CTraceContextPropagator(),
          new core.W3CBaggagePropagator(),
          new SignedGroupsPropagator({ token: TOKEN }),
        ],
      }),
    );
    // Each request stays open a moment, so that the 32 concurrent ones overlap and fill the table.
    let handled = 0;
    server = http.createServer((req, res) => {
      setTimeout(() => {
        // Sampled: listing the table of an unfixed build (300,000 groups) at every request would take minutes.
        if (++handled % 64 === 0) maxTable = Math.max(maxTable, listGroups().length);
        res.end(probe(req));
      }, 1);
    });
    url = await listen(server);
    agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    diagnostics.install();
  });
  after(async () => {
    diagnostics.uninstall();
    agent.destroy();
    await close(server);
    propagation.disable();
  });

  it('a group this process never mentioned is enabled for the request, then leaves the table', async () => {
    const [name] = randomNames(1);
    probe = () => String(isGroupEnabled(name));
    const before = listGroups().length;
    expect(await get(`${url}/`, agent, signedHeaders([name]))).to.equal('true');
    expect(listGroups().map((g) => g.name)).to.not.include(name);
    expect(listGroups()).to.have.length(before);
  });

  it('a propagated group the process mentions while the request runs stays, as a group it knows', async () => {
    const name = `mentioned-${randomBytes(6).toString('hex')}`;
    let remove: (() => void) | undefined;
    probe = () => {
      remove = hook(name, 'late', () => undefined);
      return String(isGroupEnabled(name));
    };
    try {
      expect(await get(`${url}/`, agent, signedHeaders([name]))).to.equal('true');
      expect(listGroups().find((g) => g.name === name)).to.include({ enabledScopes: 0, alwaysEnabled: false });
    } finally {
      remove?.();
    }
  });

  it('10,000 requests, each with 32 random signed group names, leave the table as it was; known groups still work', async () => {
    const names = (req: http.IncomingMessage): string[] => String(req.headers['x-names']).split(' ');
    probe = (req) => {
      const [known, ...random] = names(req);
      return `${isGroupEnabled(known)} ${random.filter((n) => isGroupEnabled(n)).length}`;
    };
    const before = listGroups().length;
    maxTable = 0;
    const total = 10_000;
    const concurrency = 32;
    let next = 0;
    let knownEnabled = 0;
    let randomEnabled = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        next++;
        const random = randomNames(31);
        const group = [...random];
        group.splice(Math.floor(Math.random() * 32), 0, KNOWN);
        const reply = await get(`${url}/`, agent, {
          ...signedHeaders(group),
          'x-names': [KNOWN, ...random].join(' '),
        });
        const [known, count] = reply.split(' ');
        if (known === 'true') knownEnabled++;
        randomEnabled += Number(count);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));

    // The known group reached every request, whatever the flood did to the table.
    expect(knownEnabled).to.equal(total);
    // Random names were enabled while there was room (some were), and never more than the cap at once.
    expect(randomEnabled).to.be.above(0);
    expect(maxTable).to.be.at.most(before + MAX_TRANSIENT_GROUPS);
    // Every request is over: no transient entry is left, without any garbage collection.
    expect(listGroups()).to.have.length(before);
    expect(listGroups().filter((g) => g.name.startsWith('flood-'))).to.deep.equal([]);
    // Hitting the cap is reported, once (not per request).
    const warnings = diagnostics.warnings().filter((w) => w.includes('propagated group'));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include(String(MAX_TRANSIENT_GROUPS));
  });
});
