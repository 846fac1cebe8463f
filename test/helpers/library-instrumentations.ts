import {
  DgramInstrumentation,
  DnsInstrumentation,
  HttpClientInstrumentation,
  IoRedisInstrumentation,
  NetInstrumentation,
  NodeRedisInstrumentation,
  UndiciInstrumentation,
} from '../../instrumentations';
import { timingHarness } from './timing-harness';

let shared: ReturnType<typeof create> | undefined;

function create() {
  return {
    dns: new DnsInstrumentation(),
    httpClient: new HttpClientInstrumentation(),
    undici: new UndiciInstrumentation(),
    net: new NetInstrumentation(),
    dgram: new DgramInstrumentation(),
    ioredis: new IoRedisInstrumentation(),
    nodeRedis: new NodeRedisInstrumentation(),
  };
}

/**
 * The library instrumentations for the test process, created once (with
 * the timing harness, so debugged requests exist), and enabled.
 */
export function libraryInstrumentations(): ReturnType<typeof create> {
  timingHarness();
  shared ??= create();
  for (const instrumentation of Object.values(shared)) instrumentation.enable();
  return shared;
}
