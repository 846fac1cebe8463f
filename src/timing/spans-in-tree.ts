import { trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import { requestScopeOf } from '../core/request-scope';
import type { SpanObserver } from '../otel/span-observer';
import { now } from './clock';
import { debugRequestOfScope, SpanPlace } from './debug-request';
import { isPropValue, MAX_TREE_DEPTH, RESERVED_PROPS, type TimingInstance, type TimingNode } from './timing-tree';

/**
 * The attributes of an OpenTelemetry span that become props of its timing
 * context: what says which query, route or call it was (semantic
 * conventions 1.x, and the older `db.statement` / `db.system` some
 * instrumentations still write).
 */
const KEY_ATTRIBUTES: readonly string[] = [
  ATTR_DB_SYSTEM_NAME,
  'db.system',
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_QUERY_TEXT,
  'db.statement',
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_ROUTE,
  ATTR_URL_FULL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_ERROR_TYPE,
];

/** Spans one debugged request keeps the place of, at most (for the spans started under them). */
export const MAX_SPAN_PLACES = 10_000;

/**
 * Puts the spans that dormant OpenTelemetry instrumentations start in a
 * debugged request into the request's timing tree, so that the header
 * output shows what the trace shows: each is a timing context named after
 * the span, under the span it started under if that one is in the tree
 * too, else under the timing context current where it started, with its
 * key attributes as props. Its `total_time` counts from the span's start
 * to its `end()` (a span still open when the output is written shows 0).
 * It adds no span: the instrumentation's own is the trace's.
 */
export const spansInTree: SpanObserver = {
  started(span: Span, name: string, parent: Context): ((span: Span) => void) | undefined {
    const debug = debugRequestOfScope(requestScopeOf(parent));
    if (debug === undefined || debug.finished) return undefined;
    const parentSpan = trace.getSpan(parent);
    // Per request, not in a WeakMap keyed by every span: see SpanPlace.
    const places = (debug.spanPlaces ??= new Map<Span, SpanPlace>());
    const under: SpanPlace | TimingInstance =
      (parentSpan === undefined ? undefined : places.get(parentSpan)) ?? debug.contexts.currentInstance();
    if (under.depth >= MAX_TREE_DEPTH) return undefined;
    const node = under.node.child(name);
    // Bounded: past the cap, spans started under a span not kept nest under the current context.
    if (places.size < MAX_SPAN_PLACES) places.set(span, new SpanPlace(node, under.depth + 1));
    const start = now();
    return (ended) => {
      if (debug.finished) return;
      node.totalTime += now() - start;
      setProps(node, (ended as { attributes?: Attributes }).attributes);
    };
  },
};

function setProps(node: TimingNode, attributes: Attributes | undefined): void {
  if (attributes === undefined) return;
  for (const key of KEY_ATTRIBUTES) {
    const value = attributes[key];
    if (isPropValue(value) && !RESERVED_PROPS.has(key)) node.setProp(key, value);
  }
}
