import {
  diag,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { parseTraceParent, TRACE_PARENT_HEADER, W3CBaggagePropagator } from '@opentelemetry/core';
import { requestScopeOf } from '../core/request-scope';
import { configuredToken } from '../token/debug-token';
import { requestDebugSource } from './debug-source';
import {
  BAGGAGE_HEADER,
  decodeGroups,
  encodeGroups,
  existingBaggage,
  readEntries,
  withOurEntries,
} from './baggage-header';
import { ENTRY_PREFIX, propagatedGroupsOf, withPropagatedGroups, type PropagatedGroups } from './propagated-groups';
import { sign, verify } from './signature';

/** Configuration of {@link SignedGroupsPropagator}. */
export interface SignedGroupsPropagatorConfig {
  /**
   * The secret shared by the services of one deployment, which signs and
   * verifies the groups. Env `DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN` wins over
   * it; without either, the registered `TimingInstrumentation`'s token (a
   * generated one differs per process, so configure one in every service).
   */
  token?: string;
  /**
   * How old (or how far in the future, for clock skew) a signature may be,
   * in seconds; default 300. Bounds how long an observed signature can be
   * replayed within its trace.
   */
  maxAgeSeconds?: number;
}

const DEFAULT_MAX_AGE = 300;

/**
 * Carries the groups a request enabled (`enableOnThisRequest`, or the
 * `timing` group of a debugged request) to the services it calls, in W3C
 * `baggage`, signed with the shared debug token, and on the receiving side
 * accepts them only with a valid signature: an outside client cannot switch
 * instrumentation on by sending baggage.
 *
 * Opt-in, composed with the trace-context propagator, in either order. It
 * carries the application's W3C baggage too (parsed and serialised by
 * `@opentelemetry/core`'s `W3CBaggagePropagator`), so it replaces that one;
 * keeping both works when the baggage one comes first:
 *
 * ```ts
 * new NodeSDK({
 *   textMapPropagator: new CompositePropagator({
 *     propagators: [new W3CTraceContextPropagator(), new SignedGroupsPropagator()],
 *   }),
 *   ...
 * });
 * ```
 *
 * - `inject` writes `dynamic-hooks.groups`, `dynamic-hooks.sig` (and
 *   `dynamic-hooks.log`) only when the context's request scope has groups
 *   enabled per request (not process-wide ones) and a valid span context;
 *   the signature is `<issued at>.<base64url HMAC-SHA256(token, trace id,
 *   groups, log flag, issued at)>`. It writes them with the context's
 *   baggage and the members already in the carrier's `baggage` header
 *   (stale entries of ours replaced).
 * - `extract` verifies them against the carrier's trace id (the span
 *   context the trace-context propagator extracted, else the `traceparent`
 *   header) in constant time; valid groups go into the returned context
 *   (read by the server integration, or by {@link SignedGroupsPropagator.verifiedGroups}),
 *   and our entries are removed from the context's baggage either way.
 *   Invalid or missing entries are dropped silently (`diag.debug`); it never throws.
 */
export class SignedGroupsPropagator implements TextMapPropagator {
  private readonly token: string | undefined;
  private readonly maxAgeSeconds: number;
  /** `@opentelemetry/core`'s: parses and serialises the W3C baggage header, the application's entries and ours. */
  private readonly baggage = new W3CBaggagePropagator();

  constructor(config: SignedGroupsPropagatorConfig = {}) {
    const token = configuredToken(config.token);
    const maxAge: unknown = config.maxAgeSeconds ?? DEFAULT_MAX_AGE;
    if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0) {
      throw new RangeError(`maxAgeSeconds must be a positive number of seconds, got ${String(maxAge)}`);
    }
    this.token = token;
    this.maxAgeSeconds = maxAge;
  }

  /** The groups a valid signature enabled in `ctx` (a context this propagator extracted), if any. */
  static verifiedGroups(ctx: Context): PropagatedGroups | undefined {
    return propagatedGroupsOf(ctx);
  }

  /**
   * Adds the signed `dynamic-hooks.*` entries for the groups `ctx`'s request
   * enabled to the carrier's `baggage` header through `setter`; does nothing
   * without per-request groups, a valid span context or a token.
   */
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const scope = requestScopeOf(ctx);
    const held = scope?.held;
    if (scope === undefined || held === undefined || held.length === 0 || scope.ended) return;
    const spanContext = trace.getSpanContext(ctx);
    if (spanContext === undefined || !isSpanContextValid(spanContext)) return;
    const token = this.currentToken();
    if (token === undefined) {
      diag.debug('dynamic-hooks: SignedGroupsPropagator has no token; groups not propagated');
      return;
    }
    const fields = {
      traceId: spanContext.traceId,
      groups: encodeGroups(held.map((group) => group.name)),
      log: requestDebugSource()?.logs(scope) === true,
    };
    const signature = sign(token, fields, Math.floor(Date.now() / 1000));
    const existing = existingBaggage(carrier);
    const baggage = withOurEntries(propagation.getBaggage(ctx), existing?.value, { ...fields, signature });
    // Under the carrier's own spelling of the header, so that it is replaced, not doubled.
    const key = existing?.key ?? BAGGAGE_HEADER;
    this.baggage.inject(propagation.setBaggage(ctx, baggage), carrier, {
      set: (target, _name, value) => {
        setter.set(target, key, value);
      },
    });
  }

  /**
   * Returns `ctx` with the groups of a valid signature in the carrier's
   * `baggage` header (read through `getter`), and without our entries in its
   * baggage; anything invalid is dropped. Never throws.
   */
  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const withBaggage = this.baggage.extract(ctx, carrier, getter);
    const header = getter.get(carrier, BAGGAGE_HEADER);
    if (header === undefined || !includesPrefix(header)) return withPropagatedGroups(withBaggage, undefined);
    let verified: PropagatedGroups | string;
    try {
      verified = this.verifiedEntries(withBaggage, carrier, getter, header);
    } catch (error) {
      verified = String(error);
    }
    if (typeof verified === 'string') diag.debug(`dynamic-hooks: propagated groups dropped: ${verified}`);
    return withPropagatedGroups(withoutOurBaggage(withBaggage), typeof verified === 'string' ? undefined : verified);
  }

  /** The header this propagator reads and writes: `baggage`. */
  fields(): string[] {
    return [BAGGAGE_HEADER];
  }

  private verifiedEntries(
    ctx: Context,
    carrier: unknown,
    getter: TextMapGetter,
    header: string | string[],
  ): PropagatedGroups | string {
    const entries = readEntries(propagation.getBaggage(ctx), header);
    if (entries === undefined) return 'no well-formed dynamic-hooks.groups and dynamic-hooks.sig entries';
    const traceId = carrierTraceId(ctx, carrier, getter);
    if (traceId === undefined) return 'no trace id to verify the signature against';
    const token = this.currentToken();
    if (token === undefined) return 'no token configured';
    const fields = { traceId, groups: entries.groups, log: entries.log };
    const now = Math.floor(Date.now() / 1000);
    if (!verify(token, fields, entries.signature, now, this.maxAgeSeconds)) {
      return 'invalid or expired signature';
    }
    const names = decodeGroups(entries.groups);
    if (names === undefined) return 'malformed group list';
    return { traceId, groups: names, log: entries.log };
  }

  private currentToken(): string | undefined {
    return this.token ?? requestDebugSource()?.token;
  }
}

function includesPrefix(header: string | string[]): boolean {
  return typeof header === 'string' ? header.includes(ENTRY_PREFIX) : header.some((h) => h.includes(ENTRY_PREFIX));
}

/** The trace the carrier continues: an extracted remote span context, else its `traceparent` (parsed as the W3C trace-context propagator parses it). */
function carrierTraceId(ctx: Context, carrier: unknown, getter: TextMapGetter): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext?.isRemote === true && isSpanContextValid(spanContext)) return spanContext.traceId;
  const header = getter.get(carrier, TRACE_PARENT_HEADER);
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined ? undefined : (parseTraceParent(value)?.traceId ?? undefined);
}

/** `ctx` whose baggage (as the W3C baggage propagator extracted it) no longer holds our entries. */
function withoutOurBaggage(ctx: Context): Context {
  const baggage = propagation.getBaggage(ctx);
  if (baggage === undefined) return ctx;
  const ours = baggage
    .getAllEntries()
    .map(([key]) => key)
    .filter((key) => key.startsWith(ENTRY_PREFIX));
  if (ours.length === 0) return ctx;
  const rest = baggage.removeEntries(...ours);
  return rest.getAllEntries().length === 0 ? propagation.deleteBaggage(ctx) : propagation.setBaggage(ctx, rest);
}
