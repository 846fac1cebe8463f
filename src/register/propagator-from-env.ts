import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { SignedGroupsPropagator } from '../propagation/signed-groups-propagator';

const W3C = new Map<string, () => TextMapPropagator>([
  ['tracecontext', () => new W3CTraceContextPropagator()],
  ['baggage', () => new W3CBaggagePropagator()],
]);

/**
 * The propagator `dynamic-hooks/register` gives NodeSDK: the
 * `OTEL_PROPAGATORS` list (default `tracecontext,baggage`) followed by
 * `SignedGroupsPropagator`, so that a debugged request's groups travel to
 * the services it calls (the client instrumentations inject them) and are
 * accepted from the services that call it, with nothing but the shared
 * `DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN`. `undefined` (NodeSDK then reads the
 * variable itself) for `none`, or for a propagator other than the W3C two,
 * in which case a warning is pushed onto `warnings`: groups do not travel.
 */
export function propagatorFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): TextMapPropagator | undefined {
  const listed = (env.OTEL_PROPAGATORS ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const names = listed.length === 0 ? ['tracecontext', 'baggage'] : [...new Set(listed)];
  if (names.includes('none')) return undefined;
  const others = names.filter((name) => !W3C.has(name));
  if (others.length > 0) {
    warnings.push(
      `OTEL_PROPAGATORS names ${others.join(', ')}: propagators left to NodeSDK, without SignedGroupsPropagator, ` +
        'so debug requests do not continue in the services called',
    );
    return undefined;
  }
  const propagators = names.map((name) => (W3C.get(name) as () => TextMapPropagator)());
  return new CompositePropagator({ propagators: [...propagators, new SignedGroupsPropagator()] });
}
