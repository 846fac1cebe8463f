import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/run-node';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { eventually } from '../helpers/timing-harness';
import { appsOfSuite, FIXTURES } from './ops-apps';

// Issue 10, item 9: an in-code NodeSDK setup shuts the SDK down before the
// process ends, or every span still waiting in the batch processor is lost.

describe('the in-code NodeSDK setup shuts the SDK down', function () {
  this.timeout(30_000);
  const startApp = appsOfSuite();
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await new OtlpReceiver().start();
  });
  after(() => receiver.stop());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`examples/gateway/telemetry.ts: ${signal} exports the pending spans, then the process dies of it`, async () => {
      const before = receiver.spans.length;
      const app = startApp(['--require', 'tsx', `${FIXTURES}/ops-gateway-telemetry.ts`], {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        // The span stays in the batch processor until something flushes it.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      });
      await app.waitFor(/^ready$/m);
      expect(receiver.spans.length, 'nothing exported yet').to.equal(before);
      app.child.kill(signal);
      expect(await app.exited).to.deep.equal({ code: null, signal });
      await eventually(() => receiver.spans.length > before, 5_000);
      const exported = receiver.spans.slice(before);
      expect(exported.map((span) => [span.name, span.serviceName])).to.deep.include([
        'pending at SIGTERM',
        'dynamic-hooks-gateway',
      ]);
    });
  }

  it('README.md and docs/: every snippet that starts a NodeSDK also shuts it down', () => {
    const pages = [
      'README.md',
      ...readdirSync(join(PROJECT_ROOT, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
    ];
    const text = pages.map((page) => readFileSync(join(PROJECT_ROOT, page), 'utf8')).join('\n');
    const snippets = [...text.matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((match) => match[1])
      .filter((code) => /new NodeSDK\(/.test(code));
    expect(snippets.length, 'NodeSDK snippets in the README and docs/').to.be.at.least(3);
    for (const code of snippets) {
      // The SDK is kept in a variable, started, and shut down on a terminating signal.
      const name = /(?:const|let) (\w+) = new NodeSDK\(/.exec(code)?.[1];
      expect(name, `a NodeSDK kept in a variable in:\n${code}`).to.be.a('string');
      expect(code).to.contain(`${String(name)}.start()`);
      expect(code, `SIGTERM handled in:\n${code}`).to.match(/process\.once\((?:'SIGTERM'|signal)/);
      expect(code, `shutdown() called in:\n${code}`).to.match(
        new RegExp(`${String(name)}\\.shutdown\\(\\)[\\s\\S]*process\\.kill\\(process\\.pid`),
      );
    }
  });
});
