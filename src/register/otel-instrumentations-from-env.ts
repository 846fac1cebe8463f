import type * as AutoInstrumentations from '@opentelemetry/auto-instrumentations-node';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { otelShortName } from '../otel/group-names';
import { dormant } from '../otel/dormant';

/** The environment variable that installs OpenTelemetry's instrumentations dormant (see {@link otelInstrumentationsFromEnv}). */
export const OTEL_INSTRUMENTATIONS_ENV = 'DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS';

/** The optional peer dependency that provides them. */
export const AUTO_INSTRUMENTATIONS_PACKAGE = '@opentelemetry/auto-instrumentations-node';

const PACKAGE_PREFIX = '@opentelemetry/instrumentation-';

/** Not in `all`, as auto-instrumentations-node leaves them out by default: `fs` is on every hot path, `host-metrics` makes no spans. */
const NOT_IN_ALL = new Set(['fs', 'host-metrics']);

/**
 * `@opentelemetry/auto-instrumentations-node`'s instrumentations that
 * `DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS` names, each made dormant under
 * group `otel:<name>` (see `dormant`): `all` for its default set (every
 * one but `fs` and `host-metrics`), or a comma-separated list of names as
 * `OTEL_NODE_ENABLED_INSTRUMENTATIONS` spells them (`pg`, `http`,
 * `express`), which may include `all` (`all,fs`).
 *
 * This variable alone decides which are installed:
 * `OTEL_NODE_ENABLED_INSTRUMENTATIONS` / `OTEL_NODE_DISABLED_INSTRUMENTATIONS`
 * keep choosing dynamic-hooks' own instrumentations. Nothing is loaded when
 * the variable is unset, empty or `none`, or when `OTEL_SDK_DISABLED=true`.
 * When the package is not installed, or a name is unknown (the message
 * names the valid ones), a message is pushed onto `warnings` and the rest
 * goes on.
 *
 * Two steps, because of how `@opentelemetry/instrumentation` hooks
 * `require`: the first instrumentation constructed installs one
 * require-in-the-middle hook for the process, which remembers every module
 * required through it from then on, and patches a module only for the
 * instrumentations registered when it was first required. So this loads
 * the package (which requires node:http and dozens more) and returns
 * `undefined` or a function that constructs the instrumentations, to be
 * called once the instrumentations that must patch first are registered.
 */
export function prepareOtelInstrumentations(
  env: NodeJS.ProcessEnv,
  warnings: string[],
): (() => Instrumentation[]) | undefined {
  const requested = (env[OTEL_INSTRUMENTATIONS_ENV] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (requested.length === 0 || requested.includes('none')) return undefined;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;

  const auto = loadAutoInstrumentations(warnings);
  if (auto === undefined) return undefined;
  const known = auto.names;
  const chosen = new Set<string>();
  const unknown: string[] = [];
  for (const name of requested) {
    if (name === 'all') for (const each of known) if (!NOT_IN_ALL.has(each)) chosen.add(each);
    if (name === 'all') continue;
    if (known.includes(name)) chosen.add(name);
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    warnings.push(
      `${OTEL_INSTRUMENTATIONS_ENV}: ${AUTO_INSTRUMENTATIONS_PACKAGE} has no instrumentation named ` +
        `${unknown.join(', ')} (ignored); known: all, ${known.join(', ')}`,
    );
  }
  if (chosen.size === 0) return undefined;

  return () => {
    // Enabled or not by this choice alone: explicit configs win over OTEL_NODE_*_INSTRUMENTATIONS there.
    const configs: Record<string, { enabled: boolean }> = {};
    for (const name of known) configs[PACKAGE_PREFIX + name] = { enabled: chosen.has(name) };
    return dormant(auto.module.getNodeAutoInstrumentations(configs));
  };
}

interface LoadedAutoInstrumentations {
  readonly module: typeof AutoInstrumentations;
  /** Short names of the instrumentations it provides, from its dependencies. */
  readonly names: string[];
}

function loadAutoInstrumentations(warnings: string[]): LoadedAutoInstrumentations | undefined {
  const load = createRequire(__filename);
  let entry: string;
  try {
    entry = load.resolve(AUTO_INSTRUMENTATIONS_PACKAGE);
  } catch {
    warnings.push(
      `${OTEL_INSTRUMENTATIONS_ENV} is set but ${AUTO_INSTRUMENTATIONS_PACKAGE} is not installed, ` +
        `so no OpenTelemetry instrumentation is installed dormant; install it next to dynamic-hooks: ` +
        `npm install ${AUTO_INSTRUMENTATIONS_PACKAGE}`,
    );
    return undefined;
  }
  return { module: load(entry) as typeof AutoInstrumentations, names: instrumentationNames(entry) };
}

/**
 * The short names of the instrumentations the package provides: its
 * `@opentelemetry/instrumentation-*` dependencies (its manifest, which it
 * does not export, read from the directory its entry point lies in).
 */
function instrumentationNames(entry: string): string[] {
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    let manifest: { name?: string; dependencies?: Record<string, string> };
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as typeof manifest;
    } catch {
      continue;
    }
    if (manifest.name !== AUTO_INSTRUMENTATIONS_PACKAGE) continue;
    return Object.keys(manifest.dependencies ?? {})
      .filter((dependency) => dependency.startsWith(PACKAGE_PREFIX))
      .map(otelShortName)
      .sort();
  }
  return [];
}
