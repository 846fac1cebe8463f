import type { HrTime } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';

const ORIGIN_SECONDS = Math.trunc(performance.timeOrigin / 1000);
const ORIGIN_NANOS = Math.round((performance.timeOrigin - ORIGIN_SECONDS * 1000) * 1e6);

/** Milliseconds on the monotonic clock, as the timing tree measures them. */
export function now(): number {
  return performance.now();
}

/**
 * A monotonic-clock reading as an OpenTelemetry epoch time. Every span of
 * a debugged request is stamped from this one clock, so their order and
 * nesting in Jaeger match the tree (the SDK's own per-span clock
 * correction can shift spans against each other by up to a millisecond).
 */
export function toHrTime(ms: number): HrTime {
  const seconds = Math.trunc(ms / 1000);
  let nanos = ORIGIN_NANOS + Math.round((ms - seconds * 1000) * 1e6);
  let wholeSeconds = ORIGIN_SECONDS + seconds;
  if (nanos >= 1e9) {
    wholeSeconds += 1;
    nanos -= 1e9;
  }
  return [wholeSeconds, nanos];
}
