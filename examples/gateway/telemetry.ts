// The OpenTelemetry setup, imported before anything else so that the
// instrumentations are registered before the gateway loads the libraries
// they patch (ioredis here), as OpenTelemetry requires. Spans wait in a
// batch: the SDK is shut down (which exports them) before the process ends,
// by main.ts when it is done, or here on SIGTERM / SIGINT.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { getTimingInstrumentations } from '../../instrumentations';
import { RequestDebugSampler } from '../../src';

export const logLines: string[] = [];
export const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
export const recorded = new InMemorySpanExporter();
export const sdk = new NodeSDK({
  serviceName: 'dynamic-hooks-gateway',
  sampler: new RequestDebugSampler(new ParentBasedSampler({ root: new AlwaysOnSampler() })),
  spanProcessors: [
    new SimpleSpanProcessor(recorded),
    ...(endpoint === undefined
      ? []
      : [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))]),
  ],
  instrumentations: getTimingInstrumentations({ logger: (line) => logLines.push(line) }),
});
sdk.start();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    // Export what is pending, then die of the signal as without this handler.
    void sdk
      .shutdown()
      .catch((error: unknown) => {
        console.error('OpenTelemetry SDK shutdown failed:', error);
      })
      .finally(() => process.kill(process.pid, signal));
  });
}
