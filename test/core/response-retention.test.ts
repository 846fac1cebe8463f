import { context } from '@opentelemetry/api';
import { expect } from 'chai';
import http from 'node:http';
import { close, listen, send } from '../helpers/http';
import { eventually, timingHarness } from '../helpers/timing-harness';

function collect(): void {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
}

describe("a request scope's hold on its response", () => {
  const harness = timingHarness();

  it('ends when the response finishes, though something still holds the request context', async () => {
    harness.configure({});
    // What a keep-alive socket's timer does: keep the context it was created in.
    const kept: unknown[] = [];
    let response: WeakRef<http.ServerResponse> | undefined;
    const server = http.createServer((_req, res) => {
      kept.push(context.active());
      response = new WeakRef(res);
      res.end('ok');
    });
    const base = await listen(server);
    try {
      await send(`${base}/`, { Connection: 'close' });
      await eventually(() => {
        collect();
        return response !== undefined && response.deref() === undefined;
      });
      expect(kept).to.have.length(1);
    } finally {
      await close(server);
    }
  });
});
