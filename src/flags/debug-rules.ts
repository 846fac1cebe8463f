import { diag } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { alwaysEnable, disableByDefault, enableOnThisRequest } from '../core/groups';
import { hook, runHook } from '../core/named-hooks';
import { inPreparedScope } from '../core/request-scope';
import { checkFunction, describe } from '../core/validate';
import { RULE_DEBUG_HOOK, TIMING_AUTH_GROUP, TIMING_GROUP } from '../names/hooks';
import { requestContext, type ContextSettings, type FlagContextHook } from './evaluation-context';
import { DEFAULT_POLL_INTERVAL_MS, FlagFileSource } from './flag-file-source';
import { requireFlagdCore, type FlagRuleSet, type TargetedFlag } from './flagd-rules';
import { FLAG_KEY_PREFIX, FLAG_RULES_GROUP, FLAG_RULES_HOOK } from './names';
import { ProviderSource, requireServerSdk, type OpenFeatureProviderLike } from './provider-source';

/** Options of {@link debugRulesFromFlags}. */
export interface DebugRulesOptions {
  /**
   * A flagd flag-definition file (JSON, see https://flagd.dev/reference/flag-definitions/),
   * evaluated in process and watched for changes: per-request rules and
   * process-wide switches. Env `DYNAMIC_HOOKS_FLAGS_FILE` with
   * `dynamic-hooks/register`. Give `file` or `provider`, not both.
   */
  file?: string;
  /**
   * Any OpenFeature server provider (`@openfeature/server-sdk`, an optional
   * peer dependency), set on the OpenFeature domain `dynamic-hooks`:
   * process-wide switches only (flags it resolves with reason `STATIC`),
   * re-evaluated on its ready and configuration-changed events. Its
   * evaluation is asynchronous, too slow to hold every request for: flags
   * with targeting are reported and left alone (use `file` for per-request rules).
   */
  provider?: OpenFeatureProviderLike;
  /**
   * With `provider`: the groups whose flags are evaluated; default every
   * group the process knows at each evaluation, and `timing`.
   */
  groups?: readonly string[];
  /**
   * Request headers that rules may read, as `headers.<name>` (lower-cased)
   * in the evaluation context; default none. Env `DYNAMIC_HOOKS_FLAG_HEADERS`
   * (comma-separated) with `dynamic-hooks/register`.
   */
  headers?: readonly string[];
  /** Adds fields to each request's evaluation context: a tenant, a user id, a `route` the application knows. */
  context?: FlagContextHook;
  /**
   * The evaluation-context field whose value is the `targetingKey` (what a
   * fractional rule buckets by): `clientAddress`, `headers.x-user-id`, a
   * field `context` adds... Default: a fresh key per request, so that a
   * fractional rule debugs that share of requests. A request without the
   * field gets a fresh key too.
   */
  targetingKey?: string;
  /** How often the file is polled besides change notifications, in ms; default 1000. */
  pollIntervalMs?: number;
}

/** Flag rules in force; {@link debugRulesFromFlags} returns it. */
export interface DebugRules {
  /** Where the flags come from: `flag file <absolute path>` or `OpenFeature provider <name>`. */
  readonly source: string;
  /** Resolves once the flags read so far are applied (a provider evaluates asynchronously). */
  settled(): Promise<void>;
  /** Stops watching the flags and undoes the switches they made. */
  close(): void;
}

/** Where an {@link ActiveRules} gets its flags. */
interface RuleSource {
  readonly description: string;
  start(): void;
  close(): void;
  settled?(): Promise<void>;
}

/** What the current flag file says, ready for the per-request evaluation. */
interface RulesInForce {
  readonly rules: FlagRuleSet;
  /** A flag without targeting switched `timing` on: every request is debugged (log-only). */
  readonly timingEverywhere: boolean;
  readonly targeted: readonly TargetedFlag[];
}

let active: ActiveRules | undefined;

/**
 * Debug rules and process-wide switches from feature flags (OpenFeature's
 * flagd definitions, evaluated in process). A boolean flag
 * `dynamic-hooks.<group>` maps to a group:
 *
 * - with targeting (rules, a fractional rollout), it is evaluated for
 *   every request, before the first phase, against the request's
 *   evaluation context (`method`, `path`, `clientAddress`, the allow-listed
 *   `headers.<name>`, what `context` adds, `targetingKey`), and enables the
 *   group on the requests it selects; for `timing`, a selected request is
 *   debugged with its output in the log and spans only, never sent to the
 *   client;
 * - without targeting, it switches its group process-wide by its default
 *   variant (as `alwaysEnable` / `disableByDefault`), again whenever the
 *   file changes, logged through `diag.info`; a process-wide `timing`
 *   makes every request a log-only debug request.
 *
 * When no flag has targeting, requests evaluate nothing. From a `file`,
 * the evaluation is synchronous (flagd's own evaluator,
 * `@openfeature/flagd-core`, an optional peer dependency); a bad or
 * missing file is reported on stderr and changes nothing, a later valid
 * one is picked up, and the watch never keeps the process alive. From any
 * other OpenFeature `provider`, only the process-wide switches apply (see
 * {@link DebugRulesOptions.provider}). One set of rules is in force at a time: a
 * second call replaces the first. Request debugging needs
 * `TimingInstrumentation` registered (with `scopeEveryRequest`, the default).
 *
 * @throws TypeError on bad options; Error when the package they need is not
 * installed (`@openfeature/flagd-core` for `file`, `@openfeature/server-sdk`
 * for `provider`), saying what to install.
 */
export function debugRulesFromFlags(options: DebugRulesOptions): DebugRules {
  const settings = checkOptions(options);
  if (options.provider !== undefined) requireServerSdk();
  else requireFlagdCore();
  active?.close();
  const rules = new ActiveRules(settings, (apply) => {
    if (options.provider !== undefined) return new ProviderSource(options.provider, options.groups, apply);
    return new FlagFileSource(options.file as string, apply, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  });
  active = rules;
  rules.start();
  return rules;
}

class ActiveRules implements DebugRules {
  private inForce: RulesInForce | undefined;
  /** Groups this file switched on process-wide (the only ones its flags switch off again). */
  private readonly switchedOn = new Set<string>();
  private readonly from: RuleSource;
  private unhook: (() => void) | undefined;

  constructor(
    private readonly settings: ContextSettings,
    source: (apply: (rules: FlagRuleSet) => void) => RuleSource,
  ) {
    this.from = source((rules) => this.apply(rules));
  }

  get source(): string {
    return this.from.description;
  }

  async settled(): Promise<void> {
    await this.from.settled?.();
  }

  start(): void {
    this.unhook = hook(FLAG_RULES_GROUP, FLAG_RULES_HOOK, (req: IncomingMessage, res: ServerResponse) =>
      this.evaluate(req, res),
    );
    this.from.start();
  }

  close(): void {
    this.from.close();
    this.unhook?.();
    disableByDefault(FLAG_RULES_GROUP);
    for (const group of this.switchedOn) this.switchGroup(group, false);
    if (this.inForce?.timingEverywhere === true) this.log(`${TIMING_GROUP} no longer debugs every request`);
    this.inForce = undefined;
    if (active === this) active = undefined;
  }

  private apply(rules: FlagRuleSet): void {
    let timingEverywhere = false;
    for (const [group, on] of rules.switches) {
      if (group === FLAG_RULES_GROUP) continue; // ours: on exactly while some flag needs it
      if (group === TIMING_GROUP) timingEverywhere = on;
      else if (on) this.switchGroup(group, true);
    }
    for (const group of [...this.switchedOn]) {
      if (rules.switches.get(group) !== true) this.switchGroup(group, false);
    }
    const wasEverywhere = this.inForce?.timingEverywhere === true;
    if (timingEverywhere !== wasEverywhere) {
      this.log(
        timingEverywhere
          ? `every request is debugged (log only): flag ${FLAG_KEY_PREFIX}${TIMING_GROUP} is on without targeting`
          : `requests are no longer all debugged: flag ${FLAG_KEY_PREFIX}${TIMING_GROUP} changed`,
      );
    }
    const targeted = rules.targeted.filter((flag) => !(timingEverywhere && flag.group === TIMING_GROUP));
    this.inForce = { rules, timingEverywhere, targeted };
    this.log(
      `${this.source} applied: ${targeted.length} flag(s) evaluated per request` +
        (targeted.length > 0 ? ` (${targeted.map((flag) => flag.key).join(', ')})` : ''),
    );
    if (timingEverywhere || targeted.length > 0) alwaysEnable(FLAG_RULES_GROUP);
    else disableByDefault(FLAG_RULES_GROUP);
  }

  /**
   * The per-request evaluation, before the first phase: true if a rule
   * debugged the request. What a selected flag does runs in the request's
   * scope; evaluating a rule needs none.
   */
  private evaluate(req: IncomingMessage, res: ServerResponse): boolean {
    const inForce = this.inForce;
    if (inForce === undefined) return false;
    let debugged = false;
    if (inForce.timingEverywhere) debugged = debugByRule(req, res);
    const targeted = inForce.targeted;
    if (targeted.length === 0) return debugged;
    const ctx = requestContext(this.settings, req);
    for (let i = 0; i < targeted.length; i++) {
      const flag = targeted[i];
      if (!inForce.rules.evaluate(flag.key, ctx)) continue;
      if (flag.group !== TIMING_GROUP) inPreparedScope(() => enableOnThisRequest(flag.group));
      else if (debugByRule(req, res)) debugged = true;
    }
    return debugged;
  }

  private switchGroup(group: string, on: boolean): void {
    if (on === this.switchedOn.has(group)) return;
    if (on) {
      alwaysEnable(group);
      this.switchedOn.add(group);
    } else {
      disableByDefault(group);
      this.switchedOn.delete(group);
    }
    // As the admin endpoint logs its changes.
    this.log(
      `group "${group}" alwaysEnabled ${String(!on)} -> ${String(on)} (flag ${FLAG_KEY_PREFIX}${group} in ${this.source})`,
    );
  }

  private log(message: string): void {
    diag.info(`dynamic-hooks flags: ${message}`);
  }
}

/** Debugs the request being prepared because a rule selected it: true if that started its debugging. */
function debugByRule(req: IncomingMessage, res: ServerResponse): boolean {
  return inPreparedScope(() => runHook(TIMING_AUTH_GROUP, RULE_DEBUG_HOOK, req, res) === true);
}

function checkOptions(options: DebugRulesOptions): ContextSettings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  if ((options.file === undefined) === (options.provider === undefined)) {
    throw new TypeError('options must give either file or provider');
  }
  if (options.file !== undefined && (typeof options.file !== 'string' || options.file === '')) {
    throw new TypeError(`options.file must be a path, got ${describe(options.file)}`);
  }
  const provider = options.provider as { metadata?: { name?: unknown } } | undefined;
  if (provider !== undefined && (typeof provider !== 'object' || typeof provider?.metadata?.name !== 'string')) {
    throw new TypeError(`options.provider must be an OpenFeature provider, got ${describe(options.provider)}`);
  }
  const groups = options.groups;
  if (groups !== undefined && (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || g === ''))) {
    throw new TypeError(`options.groups must be an array of group names, got ${describe(groups)}`);
  }
  const headers = options.headers ?? [];
  if (!Array.isArray(headers) || headers.some((name) => typeof name !== 'string' || name.trim() === '')) {
    throw new TypeError(`options.headers must be an array of header names, got ${describe(headers)}`);
  }
  if (options.context !== undefined) checkFunction(options.context, 'options.context');
  if (options.targetingKey !== undefined && (typeof options.targetingKey !== 'string' || options.targetingKey === '')) {
    throw new TypeError(`options.targetingKey must be a context field name, got ${describe(options.targetingKey)}`);
  }
  const poll = options.pollIntervalMs;
  if (poll !== undefined && (typeof poll !== 'number' || !Number.isFinite(poll) || poll < 1)) {
    throw new RangeError(`options.pollIntervalMs must be a positive number of ms, got ${describe(poll)}`);
  }
  return {
    headers: (headers as string[]).map((name) => name.trim().toLowerCase()),
    addContext: options.context,
    targetingKey: options.targetingKey,
  };
}
