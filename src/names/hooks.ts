/**
 * The group and hook names that the server integration, the framework
 * adapters, the instrumentations and the timing module share: the
 * vocabulary of the runloop. The runloop only runs hooks by these names;
 * the timing module registers the handlers. Kept free of imports, so that
 * every folder may use it.
 */

/** The group whose only hook, `auth`, decides per request whether `timing` is enabled (always on while request debugging is). */
export const TIMING_AUTH_GROUP = 'timing:auth';
/** The hook of `timing:auth`, run with `(req, res)` when a request arrives; returns `true` for a debugged request. */
export const AUTH_HOOK = 'auth';
/**
 * Hook `rule(req, res)` of `timing:auth`: debugs the request because a rule
 * selected it (log and spans only, no output header); returns `true` if it did.
 */
export const RULE_DEBUG_HOOK = 'rule';
/** Hook `client(req)` of `timing:auth`: the client's address as the timing module reads it (trusted proxies included). */
export const CLIENT_ADDRESS_HOOK = 'client';
/**
 * The group and hook the server integration runs for every request, after
 * `timing:auth`, in the request's scope: the flag rules' per-request
 * evaluation (src/flags), which returns `true` if a rule debugged the
 * request. The group is always enabled only while some flag needs a
 * per-request evaluation, so otherwise no request pays for it.
 */
export const FLAG_RULES_GROUP = 'flags:rules';
export const FLAG_RULES_HOOK = 'evaluate';
/** The group the auth hook enables on a debugged request: every phase hook below. */
export const TIMING_GROUP = 'timing';

/** Kong's phases, each run between its `before:` and `after:` hooks. */
export const PHASES = [
  'rewrite',
  'access',
  'router',
  'balancer',
  'response',
  'header_filter',
  'body_filter',
  'log',
] as const;
/** One of Kong's phases. */
export type Phase = (typeof PHASES)[number];

/** The plugin iterator (context `plugins`) and one plugin in it (hook arguments: name, id). */
export const PLUGIN_ITERATOR = 'plugin_iterator';
export const PLUGIN = 'plugin';
/** The context the plugin iterator's hooks enter. */
export const PLUGINS_CONTEXT = 'plugins';

/** Hook `dns:cache_lookup(cacheHit)`: a DNS cache answered (or missed). */
export const DNS_CACHE_LOOKUP_HOOK = 'dns:cache_lookup';
/** Hook `workspace_id:got(id)`: the request's workspace is known. */
export const WORKSPACE_ID_HOOK = 'workspace_id:got';

/**
 * Hook `dispatch(ctx)`, run by the server integration just before a
 * request's listeners run in `ctx`: returns the context they run in (the
 * timing module's, with the request's root span active), or `undefined`
 * for a request whose response phases nobody traces.
 */
export const DISPATCH_HOOK = 'dispatch';

/** What has `before:` and `after:` hooks: a phase, the plugin iterator, a plugin. */
export type Stage = Phase | typeof PLUGIN_ITERATOR | typeof PLUGIN;

const STAGES: readonly Stage[] = [...PHASES, PLUGIN_ITERATOR, PLUGIN];

function hookNames(prefix: string): Readonly<Record<Stage, string>> {
  return Object.freeze(
    Object.fromEntries(STAGES.map((stage) => [stage, `${prefix}${stage}`])) as Record<Stage, string>,
  );
}

/** `before:<stage>`, the hook run when a stage starts (built once: runloops run them on every write). */
export const BEFORE = hookNames('before:');
/** `after:<stage>`, the hook run when a stage ends. */
export const AFTER = hookNames('after:');
