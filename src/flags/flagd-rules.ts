import type * as FlagdCoreModule from '@openfeature/flagd-core';
import { createRequire } from 'node:module';
import { groupOfFlag } from './names';

/** The optional peer dependency that evaluates flagd flag definitions in process. */
export const FLAGD_CORE_PACKAGE = '@openfeature/flagd-core';

/** Evaluation context of one request, as flag rules see it. */
export type FlagContext = Record<string, unknown>;

/** A flag that maps to a group and has targeting: evaluated per request. */
export interface TargetedFlag {
  readonly key: string;
  readonly group: string;
}

/**
 * One flag file's definitions, compiled: the process-wide switches (flags
 * without targeting, by their default variant) and the flags with
 * targeting, evaluated synchronously per request.
 */
export interface FlagRuleSet {
  /** Group -> on/off, for every `dynamic-hooks.<group>` flag without targeting (a disabled flag is off). */
  readonly switches: ReadonlyMap<string, boolean>;
  readonly targeted: readonly TargetedFlag[];
  /** Whether the flag selects this request; false on any evaluation error. */
  evaluate(key: string, ctx: FlagContext): boolean;
}

/** Why a flag file was refused: what is wrong, for the operator. */
export class FlagFileError extends Error {}

let flagdCore: typeof FlagdCoreModule | undefined;

/**
 * Loads `@openfeature/flagd-core` synchronously (zero-code start needs the
 * rules before the application's first request). An optional peer
 * dependency: when it is missing this throws an `Error` that says what to
 * install.
 */
function loadFlagdCore(): typeof FlagdCoreModule {
  if (flagdCore !== undefined) return flagdCore;
  const load = createRequire(__filename);
  try {
    load.resolve(FLAGD_CORE_PACKAGE);
  } catch {
    throw new Error(
      `flag rules evaluate flagd definitions with ${FLAGD_CORE_PACKAGE}, which is not installed. ` +
        `Install it next to dynamic-hooks: npm install ${FLAGD_CORE_PACKAGE}`,
    );
  }
  flagdCore = load(FLAGD_CORE_PACKAGE) as typeof FlagdCoreModule;
  return flagdCore;
}

/** Makes sure flagd-core can be loaded (throws the install hint otherwise). */
export function requireFlagdCore(): void {
  loadFlagdCore();
}

const SILENT = { error: noop, warn: noop, info: noop, debug: noop };
function noop(): void {}

/**
 * Compiles a flagd flag-definition file (JSON) into a rule set. The whole
 * file is refused (a {@link FlagFileError} saying what is wrong) when it is
 * not JSON, not a valid flagd definition, or a `dynamic-hooks.<group>`
 * flag is not boolean or has targeting that does not parse: a bad file
 * changes nothing.
 */
export function compileFlagFile(text: string): FlagRuleSet {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FlagFileError(`not JSON: ${(error as Error).message}`);
  }
  const flags = (json as { flags?: unknown } | null)?.flags;
  if (typeof flags !== 'object' || flags === null || Array.isArray(flags)) {
    throw new FlagFileError('no "flags" object at the top level (see https://flagd.dev/reference/flag-definitions/)');
  }
  for (const [key, flag] of Object.entries(flags as Record<string, unknown>)) {
    if (groupOfFlag(key) === undefined) continue;
    const variants = (flag as { variants?: unknown } | null)?.variants;
    if (typeof variants !== 'object' || variants === null) continue; // flagd-core's validation names it
    for (const [name, value] of Object.entries(variants)) {
      if (typeof value !== 'boolean') {
        throw new FlagFileError(`flag ${key}: variant "${name}" must be true or false, got ${JSON.stringify(value)}`);
      }
    }
  }
  const { FlagdCore } = loadFlagdCore();
  const core = new FlagdCore(undefined, SILENT);
  try {
    core.setConfigurations(text);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? cause.message : (error as Error).message;
    throw new FlagFileError(`not a valid flagd definition: ${detail}`);
  }
  const switches = new Map<string, boolean>();
  const targeted: TargetedFlag[] = [];
  for (const key of core.getFlags().keys()) {
    const group = groupOfFlag(key);
    if (group === undefined) continue;
    // flagd's (and OpenFeature's) reasons: STATIC is a flag without targeting, DISABLED a disabled one.
    const probe = core.resolveBooleanEvaluation(key, false, {});
    if (probe.reason === 'STATIC' || probe.reason === 'DISABLED') switches.set(group, probe.value);
    else if (probe.reason === 'ERROR' && String(probe.errorCode) === 'PARSE_ERROR') {
      throw new FlagFileError(`flag ${key}: ${probe.errorMessage ?? 'its targeting does not parse'}`);
    } else targeted.push({ key, group });
  }
  return {
    switches,
    targeted,
    evaluate: (key, ctx) => core.resolveBooleanEvaluation(key, false, ctx as never).value,
  };
}
