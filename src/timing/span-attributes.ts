import type { Span } from '@opentelemetry/api';
import { isPropValue } from './timing-tree';

/** Sets a timing prop as a span attribute; a value a prop cannot hold (the API rejects those) is ignored. */
export function setSpanAttribute(span: Span | undefined, key: string, value: unknown): void {
  if (span !== undefined && isPropValue(value)) span.setAttribute(key, value);
}
