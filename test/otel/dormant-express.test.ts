import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { expect } from 'chai';
import type * as Express from 'express';
import { createServer, type Server } from 'node:http';
import { alwaysEnable, disableByDefault, dormant, enableOnThisRequest, listGroups } from '../../src';
import { close, listen, send } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';
import { recordingProvider } from '../helpers/recording-provider';

describe('dormant(): Express instrumentation, whose patches install others at startup', () => {
  const { exporter, provider } = recordingProvider();
  const tracer = provider.getTracer('dormant-test');
  let instrumentation: ExpressInstrumentation;
  let server: Server;
  let url: string;

  /** The Express layer spans, as `<express.type> <http.route>`. */
  const layerSpans = () =>
    exporter
      .getFinishedSpans()
      .filter((span) => span.name !== 'request')
      .map((span) => `${String(span.attributes['express.type'])} ${String(span.attributes['http.route'])}`);

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    // Its TimingInstrumentation opens a request scope for every node:http request.
    timingHarness().instrumentation.enable();
    // Created here, not when mocha loads the file: other suites run without it.
    instrumentation = dormant(new ExpressInstrumentation());
    instrumentation.setTracerProvider(provider);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const express = require('express') as typeof Express.default;
    // Routes are registered while the group is dormant, as an application does at startup.
    const app = express();
    app.use((req, res, next) => {
      tracer.startActiveSpan('request', (span) => {
        res.on('finish', () => span.end());
        if (req.headers['x-trace-me'] === 'yes') enableOnThisRequest('otel:express');
        next();
      });
    });
    app.get('/hello/:name', (req, res) => {
      res.send(`hello ${req.params.name} ${trace.getActiveSpan() === undefined ? 'untraced' : 'traced'}`);
    });
    // A second route: the first call of a patched function is not the only one that must install.
    app.get('/bye', (_req, res) => {
      res.send('bye');
    });
    server = createServer(app);
    url = await listen(server);
  });
  after(async () => {
    disableByDefault('otel:express');
    instrumentation.disable();
    await close(server);
  });
  beforeEach(() => {
    exporter.reset();
  });

  it('records no layer span for a request that does not enable the group', async () => {
    const reply = await send(`${url}/hello/ann`);
    expect(reply.body).to.equal('hello ann traced');
    expect(layerSpans()).to.deep.equal([]);
  });

  it('records the route layers of a request that enables it, though the routes were added while dormant', async () => {
    const reply = await send(`${url}/hello/bob`, { 'X-Trace-Me': 'yes' });
    expect(reply.body).to.equal('hello bob traced');
    expect(layerSpans()).to.deep.equal(['request_handler /hello/:name']);
    exporter.reset();
    await send(`${url}/bye`, { 'X-Trace-Me': 'yes' });
    expect(layerSpans()).to.deep.equal(['request_handler /bye']);
    // And the next request that does not enable it: nothing again.
    exporter.reset();
    await send(`${url}/hello/cid`);
    expect(layerSpans()).to.deep.equal([]);
  });

  it('records every request while enabled process-wide', async () => {
    alwaysEnable('otel:express');
    await send(`${url}/hello/dee`);
    disableByDefault('otel:express');
    expect(layerSpans()).to.deep.equal(['request_handler /hello/:name']);
  });

  it('lists its group with the functions it patched', () => {
    const group = listGroups().find((info) => info.name === 'otel:express');
    expect(group?.hookedFunctions).to.include.members(['route', 'use', 'handle']);
  });
});
