import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { send } from '../helpers/http';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { PROJECT_ROOT } from '../helpers/run-node';

/** Everything the child printed so far, and a way to wait for a line of it. */
class Output {
  private text = '';
  constructor(child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk) => (this.text += String(chunk)));
  }

  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.text);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`no ${pattern} in the app's output: ${this.text}`);
      await sleep(10);
    }
  }
}

describe('export of timing spans over OTLP/HTTP', () => {
  let receiver: OtlpReceiver;
  let app: ChildProcessWithoutNullStreams;
  let stderr = '';
  let output: Output;

  before(async () => {
    receiver = await new OtlpReceiver().start();
    app = spawn(process.execPath, ['--require', 'tsx', join('test', 'fixtures', 'otlp-app.ts')], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, OTLP_TRACES_URL: receiver.tracesUrl, OTEL_LOG_LEVEL: 'error' },
    });
    app.stderr.on('data', (chunk) => (stderr += String(chunk)));
    output = new Output(app);
  });
  after(async () => {
    app.kill();
    await receiver.stop();
  });

  it("exports a debug request's spans with intact links and attributes, all of them at sdk.shutdown()", async () => {
    const [, url] = await output.waitFor(/listening (\S+)\n/);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    const plain = await send(url);
    expect(plain.headers).to.not.have.property('x-request-debug-output');
    const reply = await send(url, {
      'X-Request-Debug': '*',
      // Not sampled upstream: the debug request must be recorded anyway.
      traceparent: `00-${traceId}-${parentSpanId}-00`,
    });
    const tree = JSON.parse(reply.headers['x-request-debug-output'] as string) as Record<string, unknown>;
    expect(tree.trace_id).to.equal(traceId);

    await sleep(100);
    expect(receiver.spans, 'the batch processor holds the spans until shutdown').to.have.length(0);
    app.stdin.write('shutdown\n');
    await output.waitFor(/shut down/);
    if (app.exitCode === null) await once(app, 'exit');
    expect(stderr).to.not.match(/error/i);

    const spans = receiver.spans;
    const byName = new Map(spans.map((s) => [s.name, s]));
    expect([...byName.keys()]).to.have.members([
      'request_debug GET',
      'rewrite',
      'handler',
      'render',
      'header_filter',
      'body_filter',
      'log',
    ]);
    expect(
      spans.every((s) => s.traceId === traceId),
      'one trace, the incoming one',
    ).to.equal(true);
    expect(spans.every((s) => s.serviceName === 'otlp-fixture')).to.equal(true);
    const root = byName.get('request_debug GET');
    expect(root?.parentSpanId).to.equal(parentSpanId);
    expect(root?.kind, 'SERVER').to.equal(2);
    expect(root?.attributes['dynamic_hooks.request_id']).to.equal(tree.request_id);
    expect(root?.attributes['http.request.method']).to.equal('GET');
    for (const name of ['rewrite', 'handler', 'header_filter', 'body_filter', 'log']) {
      expect(byName.get(name)?.parentSpanId, name).to.equal(root?.spanId);
    }
    expect(byName.get('render')?.parentSpanId).to.equal(byName.get('handler')?.spanId);
    expect(byName.get('handler')?.attributes.items).to.equal(3);
    const handler = byName.get('handler');
    const render = byName.get('render');
    const nanos = (value: string | undefined) => BigInt(value ?? 0);
    expect(
      nanos(render?.startTimeUnixNano) >= nanos(handler?.startTimeUnixNano),
      'render starts inside handler',
    ).to.equal(true);
    expect(nanos(render?.endTimeUnixNano) <= nanos(handler?.endTimeUnixNano), 'render ends inside handler').to.equal(
      true,
    );
  });
});
