// The OpenTelemetry setup, imported before anything else so that the
// instrumentations are registered before the gateway loads the libraries
// they patch (ioredis here), as OpenTelemetry requires.
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
