import { context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { expect } from 'chai';
import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import { alwaysEnable, disableByDefault, dormant, listGroups, withGroupsEnabled } from '../../src';
import { close, listen } from '../helpers/http';
import { releaseRequestScopes } from '../helpers/scopes';
import { eventually } from '../helpers/timing-harness';
import { SUBSCRIPTION_LINGER_MS } from '../../src/core/group-state';
import { recordingProvider } from '../helpers/recording-provider';

describe('dormant(): undici instrumentation (fetch), built on diagnostics_channel', () => {
  const { exporter, provider } = recordingProvider();
  const create = diagnosticsChannel.channel('undici:request:create');
  let instrumentation: UndiciInstrumentation;
  let server: http.Server;
  let url: string;
  /** Whether something else in this process (our own undici instrumentation) listens already. */
  let listenedBefore: boolean;

  const fetched = async (path: string) => (await fetch(`${url}${path}`)).text();
  const spanUrls = () => exporter.getFinishedSpans().map((span) => span.attributes['url.full']);

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    server = http.createServer((req, res) => res.end(`hello ${req.url}`));
    url = await listen(server);
    listenedBefore = create.hasSubscribers;
    instrumentation = dormant(new UndiciInstrumentation());
    instrumentation.setTracerProvider(provider);
  });
  after(async () => {
    disableByDefault('otel:undici');
    instrumentation.disable();
    await close(server);
  });
  beforeEach(async () => {
    disableByDefault('otel:undici');
    // withGroupsEnabled frames hold their groups until collected.
    await releaseRequestScopes();
    exporter.reset();
  });

  it('is not subscribed while otel:undici is dormant, and records nothing', async () => {
    if (!listenedBefore) expect(create.hasSubscribers).to.equal(false);
    expect(await fetched('/a')).to.equal('hello /a');
    expect(spanUrls()).to.deep.equal([]);
    expect(listGroups().map((group) => group.name)).to.include('otel:undici');
  });

  it('records the fetch made where the group is enabled, and not one made elsewhere at the same time', async () => {
    const [inside, outside] = await Promise.all([
      withGroupsEnabled('otel:undici', () => {
        expect(create.hasSubscribers).to.equal(true);
        return fetched('/b');
      }),
      fetched('/c'),
    ]);
    expect([inside, outside]).to.deep.equal(['hello /b', 'hello /c']);
    expect(spanUrls()).to.deep.equal([`${url}/b`]);
    const [span] = exporter.getFinishedSpans();
    expect(span.kind).to.equal(SpanKind.CLIENT);
    expect(span.attributes).to.include({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
  });

  it('records every fetch while enabled process-wide, and unsubscribes a moment after it is disabled', async () => {
    alwaysEnable('otel:undici');
    await fetched('/d');
    disableByDefault('otel:undici');
    // Still subscribed for a moment (debugged requests come and go): the gate drops the fetch.
    await fetched('/e');
    if (!listenedBefore) await eventually(() => !create.hasSubscribers, SUBSCRIPTION_LINGER_MS + 1000);
    await fetched('/f');
    expect(spanUrls()).to.deep.equal([`${url}/d`]);
  });
});
