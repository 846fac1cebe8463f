import type { Span } from '@opentelemetry/api';

/** Sets `value` as a span attribute, as JSON if it is not a primitive. */
export function setSpanAttribute(span: Span | undefined, key: string, value: unknown): void {
  if (span === undefined) return;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    span.setAttribute(key, value);
  } else if (value !== undefined && value !== null) {
    span.setAttribute(key, JSON.stringify(value));
  }
}
