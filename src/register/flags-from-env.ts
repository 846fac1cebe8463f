import { debugRulesFromFlags, type DebugRules } from '../flags/debug-rules';
import { tellOperator } from '../timing/logger';

/** The flagd flag-definition file that `dynamic-hooks/register` evaluates and watches. */
export const FLAGS_FILE_ENV = 'DYNAMIC_HOOKS_FLAGS_FILE';
/** Request headers rules may read (comma-separated), as `headers.<name>` in the evaluation context. */
export const FLAG_HEADERS_ENV = 'DYNAMIC_HOOKS_FLAG_HEADERS';
/** The evaluation-context field used as `targetingKey` (default: a fresh key per request). */
export const FLAG_TARGETING_KEY_ENV = 'DYNAMIC_HOOKS_FLAG_TARGETING_KEY';

/**
 * Starts debug rules for `dynamic-hooks/register` when
 * `DYNAMIC_HOOKS_FLAGS_FILE` is set (see `debugRulesFromFlags`), reading
 * `DYNAMIC_HOOKS_FLAG_HEADERS` and `DYNAMIC_HOOKS_FLAG_TARGETING_KEY`.
 * Nothing is loaded when it is not set. A setting that cannot work (a
 * missing `@openfeature/flagd-core`) is reported (diag and stderr) and
 * leaves the application running without rules; it never throws.
 */
export function startFlagsFromEnv(env: NodeJS.ProcessEnv = process.env): DebugRules | undefined {
  const file = env[FLAGS_FILE_ENV]?.trim();
  if (file === undefined || file === '') return undefined;
  const headers = (env[FLAG_HEADERS_ENV] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const targetingKey = env[FLAG_TARGETING_KEY_ENV]?.trim();
  try {
    return debugRulesFromFlags({
      file,
      headers,
      ...(targetingKey !== undefined && targetingKey !== '' ? { targetingKey } : {}),
    });
  } catch (error) {
    tellOperator('error', `${FLAGS_FILE_ENV} ignored: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}
