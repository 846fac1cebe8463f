import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { RequestDebugSampler, TimingInstrumentation, type TimingInstrumentationConfig } from '../../src';

/**
 * One TimingInstrumentation for the test process, exporting to memory
 * through a provider whose base sampler drops everything: only debugged
 * requests' spans (kept by RequestDebugSampler) arrive.
 */
export class TimingHarness {
  readonly exporter = new InMemorySpanExporter();
  readonly provider = new BasicTracerProvider({
    sampler: new RequestDebugSampler(new AlwaysOffSampler()),
    spanProcessors: [new SimpleSpanProcessor(this.exporter)],
  });
  readonly logLines: string[] = [];
  readonly instrumentation: TimingInstrumentation;

  constructor(config: TimingInstrumentationConfig = {}) {
    this.instrumentation = new TimingInstrumentation(this.withLogger(config));
    this.instrumentation.setTracerProvider(this.provider);
  }

  /** Replaces the configuration (the logger stays the harness's). */
  configure(config: TimingInstrumentationConfig): void {
    this.instrumentation.setConfig(this.withLogger(config));
  }

  reset(): void {
    this.exporter.reset();
    this.logLines.length = 0;
  }

  spans(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  /** The log lines of one request. */
  logOf(requestId: string): string[] {
    return this.logLines.filter((line) => line.includes(requestId));
  }

  private withLogger(config: TimingInstrumentationConfig): TimingInstrumentationConfig {
    return { ...config, logger: (line) => this.logLines.push(line) };
  }
}

/** Parses a request-debug log output (one line or its parts) back into the tree. */
export function parseLogOutput(lines: readonly string[]): Record<string, unknown> {
  const parts = lines.map((line) => {
    const at = line.indexOf(' output: ');
    if (at < 0) throw new Error(`not an output line: ${line}`);
    return line.slice(at + ' output: '.length);
  });
  return JSON.parse(parts.join('')) as Record<string, unknown>;
}

/** Polls `check` until it returns true (for work that ends after the response, such as the log phase). */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let shared: TimingHarness | undefined;

/**
 * The process's harness: the timing hooks are process-wide, so every suite
 * shares one instrumentation and sets its own configuration before each test.
 */
export function timingHarness(): TimingHarness {
  shared ??= new TimingHarness();
  return shared;
}
