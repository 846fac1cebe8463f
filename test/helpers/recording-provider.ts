import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';

/** A tracer provider of a test's own that records every span its sampler keeps, in memory. */
export interface RecordingProvider {
  readonly exporter: InMemorySpanExporter;
  readonly provider: BasicTracerProvider;
  /** The finished spans of one instrumentation scope (an instrumentation's name). */
  spansOf(scope: string): ReadableSpan[];
}

/**
 * A provider for an instrumentation under test (`setTracerProvider`),
 * exporting synchronously to memory: what the instrumentation (or the gate
 * in front of it) lets through and `sampler` keeps is what gets recorded.
 */
export function recordingProvider(sampler: Sampler = new AlwaysOnSampler()): RecordingProvider {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    exporter,
    provider,
    spansOf: (scope) => exporter.getFinishedSpans().filter((span) => span.instrumentationScope.name === scope),
  };
}
