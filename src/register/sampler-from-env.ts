import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';

/**
 * The sampler `OTEL_TRACES_SAMPLER` (and `OTEL_TRACES_SAMPLER_ARG`) names,
 * as the OpenTelemetry specification defines them; `parentbased_always_on`
 * when unset. NodeSDK reads these variables only when it is given no
 * sampler, and `dynamic-hooks/register` gives it `RequestDebugSampler`
 * wrapping this one. Problems are pushed onto `warnings` (reported on
 * stderr, and through diag once the SDK has set up its logger) and fall
 * back to the default.
 */
export function baseSamplerFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() ?? '';
  const ratio = () => ratioFromEnv(env, warnings);
  switch (name) {
    case '':
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      warnings.push(`unknown OTEL_TRACES_SAMPLER "${env.OTEL_TRACES_SAMPLER}"; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function ratioFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim() ?? '';
  const ratio = raw === '' ? NaN : Number(raw);
  if (ratio >= 0 && ratio <= 1) return ratio;
  warnings.push(`OTEL_TRACES_SAMPLER_ARG "${raw}" is not a ratio in [0, 1]; using 1`);
  return 1;
}
