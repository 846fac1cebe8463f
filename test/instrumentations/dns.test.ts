import { expect } from 'chai';
import dns from 'node:dns';
import dnsPromises from 'node:dns/promises';
import { promisify } from 'node:util';
import { nodeAt, runInRequest, spanPath } from '../helpers/debugged';
import { DNS_RECORDS, startDnsServer, type DnsServer } from '../helpers/dns-server';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { timingHarness } from '../helpers/timing-harness';

describe('DnsInstrumentation', () => {
  const harness = timingHarness();
  let server: DnsServer;
  before(async () => {
    libraryInstrumentations();
    server = await startDnsServer();
  });
  // `server` is unset if before() failed.
  after(() => (server as DnsServer | undefined)?.stop());
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it('times dns.lookup as dns > qname > resolve, until the callback', async () => {
    const { tree, spans, result } = await runInRequest(
      () =>
        new Promise<string>((resolve, reject) => {
          dns.lookup('localhost', (error, address) => (error ? reject(error) : resolve(address)));
        }),
    );
    expect(result).to.be.oneOf(['127.0.0.1', '::1']);
    const resolve = nodeAt(tree, 'dns', 'localhost', 'resolve');
    expect(resolve.total_time).to.be.a('number');
    expect(resolve.dangling).to.equal(undefined);
    expect(spanPath(spans, 'resolve')).to.deep.equal(['request_debug GET', 'dns', 'localhost', 'resolve']);
    expect(spans.find((s) => s.name === 'resolve')?.attributes['dns.question.name']).to.equal('localhost');
  });

  it('times dns.promises.lookup and the dns/promises module', async () => {
    const { tree } = await runInRequest(async () => {
      await dns.promises.lookup('localhost');
      await dnsPromises.lookup('localhost');
    });
    expect(nodeAt(tree, 'dns', 'localhost', 'resolve').total_time).to.be.a('number');
    const spans = harness.spans().filter((s) => s.name === 'resolve');
    expect(spans, 'one span per lookup, not two per call').to.have.length(2);
  });

  it('keeps promisify working on dns.lookup (util.promisify.custom survives)', async () => {
    const { tree, result } = await runInRequest(() => promisify(dns.lookup)('localhost'));
    expect(result).to.have.property('address');
    expect(nodeAt(tree, 'dns', 'localhost', 'resolve').total_time).to.be.a('number');
  });

  it('times Resolver queries against a real DNS server, callback and promise flavours', async () => {
    const { tree, result } = await runInRequest(async () => {
      const callbackResolver = new dns.Resolver();
      callbackResolver.setServers([server.address]);
      const viaCallback = await new Promise<string[]>((resolve, reject) => {
        callbackResolver.resolve4(DNS_RECORDS.name, (error, addresses) => (error ? reject(error) : resolve(addresses)));
      });
      const promiseResolver = new dnsPromises.Resolver();
      promiseResolver.setServers([server.address]);
      const viaPromise = await promiseResolver.resolve4(DNS_RECORDS.name);
      return [viaCallback, viaPromise];
    });
    expect(result).to.deep.equal([[DNS_RECORDS.address], [DNS_RECORDS.address]]);
    expect(nodeAt(tree, 'dns', DNS_RECORDS.name, 'resolve').total_time).to.be.a('number');
    expect(harness.spans().filter((s) => s.name === 'resolve')).to.have.length(2);
  });

  it('ends the context of a failed query, marks its span failed and hands the caller the same error', async () => {
    const { tree, spans, error } = await runInRequest(async () => {
      const resolver = new dnsPromises.Resolver();
      resolver.setServers([server.address]);
      await resolver.resolve4(DNS_RECORDS.missing);
    });
    expect((error as NodeJS.ErrnoException).code).to.equal('ENOTFOUND');
    const resolve = nodeAt(tree, 'dns', DNS_RECORDS.missing, 'resolve');
    expect(resolve.dangling).to.equal(undefined);
    const span = spans.find((s) => s.name === 'resolve');
    expect(span?.status.code).to.equal(2);
    expect(span?.attributes['error.type']).to.equal('ENOTFOUND');
  });

  it('nests two concurrent lookups of one request each under its own qname', async () => {
    const { tree } = await runInRequest(() => Promise.all([dns.promises.lookup('localhost'), dnsQuery(server)]));
    expect(Object.keys(nodeAt(tree, 'dns').child ?? {})).to.have.members(['localhost', DNS_RECORDS.name]);
    expect(Object.keys(nodeAt(tree, 'dns', 'localhost').child ?? {})).to.deep.equal(['resolve']);
    expect(Object.keys(nodeAt(tree, 'dns', DNS_RECORDS.name).child ?? {})).to.deep.equal(['resolve']);
  });

  it('records nothing for a request that is not debugged, and the lookup still works', async () => {
    const { tree, result } = await runInRequest(() => dns.promises.lookup('localhost'), false);
    expect(tree).to.equal(undefined);
    expect(result).to.have.property('address');
    expect(harness.spans()).to.deep.equal([]);
  });

  it('restores the originals when disabled and does not wrap twice when enabled twice', async () => {
    const instrumentation = libraryInstrumentations().dns;
    const patched = dns.lookup;
    instrumentation.enable();
    expect(dns.lookup, 'enable() again').to.equal(patched);
    instrumentation.disable();
    try {
      expect(dns.lookup).to.not.equal(patched);
      const { tree } = await runInRequest(() => dns.promises.lookup('localhost'));
      expect(tree?.child).to.not.have.property('dns');
    } finally {
      instrumentation.enable();
    }
    const { tree } = await runInRequest(() => dns.promises.lookup('localhost'));
    expect(nodeAt(tree, 'dns', 'localhost', 'resolve').total_time).to.be.a('number');
  });
});

function dnsQuery(server: DnsServer): Promise<string[]> {
  const resolver = new dnsPromises.Resolver();
  resolver.setServers([server.address]);
  return resolver.resolve4(DNS_RECORDS.name);
}
