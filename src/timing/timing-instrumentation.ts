import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import type * as http from 'node:http';
import { alwaysEnable, disableByDefault } from '../core/groups';
import { hook } from '../core/named-hooks';
import { AUTH_HOOK, CLIENT_ADDRESS_HOOK, RULE_DEBUG_HOOK, TIMING_AUTH_GROUP } from '../names/hooks';
import { setRequestDebugSource } from '../propagation/debug-source';
import { observeRequestStart, setRequestScopeFilter, wrapServerEmit } from '../server/http-server';
import { hasHeaderWithPrefix } from '../server/raw-headers';
import { mayCarrySignedGroups } from '../propagation/propagated-groups';
import { wrapperChainIncludes } from '../patching/otel-internals';
import { patchLoadedBuiltins } from '../patching/patch-builtins';
import { authorizeRequest } from './auth';
import { ruleClientAddress, startRuleDebugRequest } from './rule-debug';
import { resolveSettings, type TimingInstrumentationConfig, type TimingSettings } from './settings';
import { debugRequestOfScope } from './debug-request';
import { registerTimingHooks } from './timing-hooks';
import { spansInTree } from './spans-in-tree';
import { keepDebugShapes } from './shape-keeper';
import { observeDormantSpans } from '../otel/span-observer';
import { generateToken } from '../token/debug-token';
import { announceGeneratedToken } from './token';
import { VERSION } from '../version';
import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';

type ServerModule = typeof http;

/** The instrumentation scope of the timing spans: the package. */
const TRACER_NAME = 'dynamic-hooks';

/** On our `Server#emit` wrapper: the function it wraps. */
const ORIGINAL_EMIT = Symbol('dynamic-hooks original emit');

/** Whether our wrapper is in `emit`'s chain (under shimmer wrappers of other instrumentations too). */
function hasOwnEmit(emit: unknown): boolean {
  return wrapperChainIncludes(emit, (fn) => (fn as Record<PropertyKey, unknown>)[ORIGINAL_EMIT] !== undefined);
}

/** Restores the original `emit` if ours is the outermost wrapper (one wrapped around it stays, and keeps ours). */
function unpatchServer(exports: ServerModule): void {
  const proto = exports.Server.prototype;
  const original = (proto.emit as unknown as Record<PropertyKey, unknown>)[ORIGINAL_EMIT];
  if (typeof original === 'function') proto.emit = original as typeof proto.emit;
}

/**
 * Request debugging, as Kong's `kong.timing`: register it with the
 * OpenTelemetry `NodeSDK` (or `registerInstrumentations`) and every
 * `node:http` and `node:https` server in the process answers a request
 * sent with `X-Request-Debug: *` with its timing tree in
 * `X-Request-Debug-Output`, logs it on `X-Request-Debug-Log: true`, and
 * exports the same timing contexts as spans.
 */
export class TimingInstrumentation extends InstrumentationBase<TimingInstrumentationConfig> {
  // `declare`: no field initializers, because InstrumentationBase's
  // constructor already calls enable(), before they would run.
  declare private settings: TimingSettings | undefined;
  declare private announcedToken: string | undefined;
  /** Generated once per instance: a reconfiguration without a token keeps it, so clients' tokens stay valid. */
  declare private generatedToken: string | undefined;
  /** The tracer of the timing spans, whose scope is named after the package (the provider's, once given). */
  declare private timingTracer: Tracer | undefined;

  constructor(config: TimingInstrumentationConfig = {}) {
    super('dynamic-hooks-timing', VERSION, config);
  }

  /** Uses `tracerProvider` for the timing spans too (scope `dynamic-hooks`, the package). */
  override setTracerProvider(tracerProvider: TracerProvider): void {
    super.setTracerProvider(tracerProvider);
    this.timingTracer = tracerProvider.getTracer(TRACER_NAME, VERSION);
  }

  /** The token non-loopback clients must send (generated at start if none was configured). */
  get token(): string {
    return this.currentSettings().token;
  }

  /** Replaces the configuration; invalid configuration throws and changes nothing. */
  override setConfig(config: TimingInstrumentationConfig = {}): void {
    const settings = resolveSettings(
      config,
      () => this.spanTracer(),
      process.env,
      () => this.tokenIfNoneConfigured(),
    );
    super.setConfig(config);
    this.settings = settings;
    if (this.isEnabled()) this.activate();
  }

  /**
   * Enables request debugging: patches `node:http` and `node:https` servers
   * (on their prototype, so servers created earlier are covered too) and
   * applies the configuration.
   */
  override enable(): void {
    super.enable();
    keepDebugShapes();
    this.activate();
    observeRequestStart(true);
    observeDormantSpans(spansInTree);
    // Servers are patched on their prototype, so servers created before
    // the instrumentation was enabled are covered too.
    patchLoadedBuiltins(this);
  }

  /** Disables request debugging: no request is debugged until `enable()` is called again. */
  override disable(): void {
    super.disable();
    observeRequestStart(false);
    observeDormantSpans(undefined);
    disableByDefault(TIMING_AUTH_GROUP);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return ['http', 'https'].map(
      (name) =>
        new InstrumentationNodeModuleDefinition(
          name,
          ['*'],
          (exports: ServerModule) => {
            this.patchServer(exports);
            return exports;
          },
          (exports: ServerModule | undefined) => {
            if (exports !== undefined) unpatchServer(exports);
          },
        ),
    );
  }

  /**
   * Wraps `Server#emit` without shimmer's marks: InstrumentationBase's
   * `_wrap` removes a shimmer-marked wrapper before adding its own, so
   * OpenTelemetry's HttpInstrumentation, patching after us, would drop ours;
   * unmarked, it wraps around ours, and the request scope we open then
   * derives from its context (its server span active).
   */
  private patchServer(exports: ServerModule): void {
    const proto = exports.Server.prototype;
    if (hasOwnEmit(proto.emit)) return;
    const original = proto.emit;
    const wrapped = wrapServerEmit(original);
    Object.defineProperty(wrapped, ORIGINAL_EMIT, { value: original });
    proto.emit = wrapped;
  }

  private tokenIfNoneConfigured(): string {
    return (this.generatedToken ??= generateToken());
  }

  private spanTracer(): Tracer {
    // Without a provider given, the global one (as InstrumentationBase does).
    return this.timingTracer ?? trace.getTracer(TRACER_NAME, VERSION);
  }

  private currentSettings(): TimingSettings {
    this.settings ??= resolveSettings(
      this.getConfig(),
      () => this.spanTracer(),
      process.env,
      () => this.tokenIfNoneConfigured(),
    );
    return this.settings;
  }

  /** Registers the hooks with this instance's settings and switches `timing:auth` on or off. */
  private activate(): void {
    const settings = this.currentSettings();
    registerTimingHooks();
    const prefix = settings.headers.request;
    setRequestDebugSource({ token: settings.token, logs: (scope) => debugRequestOfScope(scope)?.log === true });
    setRequestScopeFilter(
      settings.scopeEveryRequest
        ? undefined
        : (req) => hasHeaderWithPrefix(req.rawHeaders, prefix) || mayCarrySignedGroups(req.rawHeaders),
    );
    if (!settings.requestDebug) {
      disableByDefault(TIMING_AUTH_GROUP);
      return;
    }
    hook(TIMING_AUTH_GROUP, AUTH_HOOK, (req: http.IncomingMessage, res: http.ServerResponse) =>
      authorizeRequest(settings, req, res),
    );
    // Flag rules (src/flags): debug a request a rule selects, log-only; read its client as auth does.
    hook(TIMING_AUTH_GROUP, RULE_DEBUG_HOOK, (req: http.IncomingMessage, res: http.ServerResponse) =>
      startRuleDebugRequest(settings, req, res),
    );
    hook(TIMING_AUTH_GROUP, CLIENT_ADDRESS_HOOK, (req: http.IncomingMessage) => ruleClientAddress(settings, req));
    alwaysEnable(TIMING_AUTH_GROUP);
    if (settings.tokenGenerated && this.announcedToken !== settings.token) {
      this.announcedToken = settings.token;
      announceGeneratedToken(settings.token);
    }
  }
}
