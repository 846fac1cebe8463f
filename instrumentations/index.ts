/**
 * `dynamic-hooks/instrumentations`: one class per patched library, each
 * timing its operations in group `timing` (dormant until a request, or the
 * process, enables it), and `getTimingInstrumentations()` for the full set.
 *
 * @packageDocumentation
 * @module dynamic-hooks/instrumentations
 */
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import { TimingInstrumentation, type TimingInstrumentationConfig } from '../src';
import { DgramInstrumentation } from './dgram/instrumentation';
import { DnsInstrumentation } from './dns/instrumentation';
import { HttpClientInstrumentation } from './http-client/instrumentation';
import { NetInstrumentation } from './net/instrumentation';
import { IoRedisInstrumentation } from './redis/ioredis-instrumentation';
import { NodeRedisInstrumentation } from './redis/node-redis-instrumentation';
import { UndiciInstrumentation } from './undici/instrumentation';

export {
  DgramInstrumentation,
  DnsInstrumentation,
  HttpClientInstrumentation,
  IoRedisInstrumentation,
  NetInstrumentation,
  NodeRedisInstrumentation,
  UndiciInstrumentation,
};

/** Configuration of `getTimingInstrumentations`: the timing module's, plus per-library switches. */
export interface TimingInstrumentationsConfig extends TimingInstrumentationConfig {
  /** Per-library configuration, e.g. `{ dns: { enabled: false } }`. */
  readonly libraries?: Partial<Record<TimingLibrary, InstrumentationConfig>>;
}

/** The libraries `getTimingInstrumentations` instruments. */
export type TimingLibrary = 'dns' | 'httpClient' | 'undici' | 'net' | 'dgram' | 'ioredis' | 'nodeRedis';

/**
 * The full set for `new NodeSDK({ instrumentations: getTimingInstrumentations() })`:
 * the timing module (server integration and request debugging) and every
 * library instrumentation.
 */
export function getTimingInstrumentations(config: TimingInstrumentationsConfig = {}) {
  const { libraries = {}, ...timing } = config;
  return [
    new TimingInstrumentation(timing),
    new DnsInstrumentation(libraries.dns),
    new HttpClientInstrumentation(libraries.httpClient),
    new UndiciInstrumentation(libraries.undici),
    new NetInstrumentation(libraries.net),
    new DgramInstrumentation(libraries.dgram),
    new IoRedisInstrumentation(libraries.ioredis),
    new NodeRedisInstrumentation(libraries.nodeRedis),
  ];
}
