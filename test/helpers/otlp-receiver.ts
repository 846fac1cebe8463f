import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { close, listen } from './http';

/** A span as OTLP/JSON carries it, with the fields the tests read. */
export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: Record<string, unknown>;
  readonly status?: { code?: number };
  /** `service.name` of the resource that sent it. */
  readonly serviceName: string | undefined;
  /** The name of the instrumentation scope (tracer) that made it. */
  readonly scopeName: string | undefined;
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
interface OtlpRawSpan extends Omit<OtlpSpan, 'attributes' | 'serviceName' | 'scopeName'> {
  attributes?: OtlpKeyValue[];
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpRawSpan[] }[];
  }[];
}

/**
 * A real OTLP/HTTP trace receiver on loopback: accepts what the official
 * `@opentelemetry/exporter-trace-otlp-http` exporter sends to `/v1/traces`
 * (JSON, optionally gzip-compressed), answers as a collector does, and
 * decodes the spans.
 */
export class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  requests = 0;
  private readonly server = http.createServer((req, res) => {
    this.receive(req, res);
  });
  private baseUrl = '';

  async start(): Promise<this> {
    this.baseUrl = await listen(this.server);
    return this;
  }

  /** The URL an exporter sends traces to. */
  get tracesUrl(): string {
    return `${this.baseUrl}/v1/traces`;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  private receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      if (!String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415, { 'content-type': 'application/json' }).end('{"message":"only OTLP/JSON"}');
        return;
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      this.requests++;
      this.decode(JSON.parse(body.toString()) as OtlpRequest);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  }

  private decode(request: OtlpRequest): void {
    for (const resourceSpans of request.resourceSpans ?? []) {
      const resource = attributesOf(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            ...span,
            attributes: attributesOf(span.attributes),
            serviceName: resource['service.name'] as string | undefined,
            scopeName: scopeSpans.scope?.name,
          });
        }
      }
    }
  }
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = valueOf(value);
  return out;
}

function valueOf(value: OtlpAnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}
