/**
 * The trace exporters `OTEL_TRACES_EXPORTER` names, as NodeSDK reads it:
 * comma-separated, `otlp` when empty; `none` first means none at all.
 */
export function traceExportersFromEnv(env: NodeJS.ProcessEnv): string[] {
  const names = [
    ...new Set(
      (env.OTEL_TRACES_EXPORTER ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '' && name !== 'null'),
    ),
  ];
  if (names[0] === 'none') return [];
  if (names.length === 0 || names.includes('none')) return ['otlp'];
  return names;
}

/**
 * Where NodeSDK sends spans, for a message to the operator (e.g. `OTLP
 * http/protobuf http://localhost:4318/v1/traces`), from the same variables
 * and defaults it reads. Credentials, query and fragment of a URL are left out.
 */
export function describeTraceExport(env: NodeJS.ProcessEnv): string {
  const targets = traceExportersFromEnv(env).map((name) => {
    if (name === 'otlp') {
      const protocol =
        setting(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
      const grpc = protocol === 'grpc';
      const signal = setting(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
      const base = setting(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
      const url =
        signal ??
        (base === undefined
          ? grpc
            ? 'http://localhost:4317'
            : 'http://localhost:4318/v1/traces'
          : grpc
            ? base
            : `${base.replace(/\/+$/, '')}/v1/traces`);
      return `OTLP ${protocol} ${printableUrl(url)}`;
    }
    if (name === 'zipkin') {
      return `Zipkin ${printableUrl(setting(env, 'OTEL_EXPORTER_ZIPKIN_ENDPOINT') ?? 'http://localhost:9411/api/v2/spans')}`;
    }
    return name;
  });
  return targets.join(' and ');
}

function setting(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

function printableUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(an endpoint that is not a URL)';
  }
}
