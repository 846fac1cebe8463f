/** A problem in the gateway's configuration: where it is and what was expected there. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    /** The key as a path from the top (`routes[1].service`); empty for the top level itself. */
    readonly path: string,
    /** What the key should hold (for `unknown-key`: the keys allowed; for `refused`: why it was refused). */
    readonly expected: string,
    /** What it holds. */
    readonly got?: unknown,
    /** `expected` (a wrong value), `unknown-key` (a key that is not allowed), `refused` (refused by the library). */
    readonly kind: 'expected' | 'unknown-key' | 'refused' = 'expected',
  ) {
    super(`${path === '' ? '(top level)' : path}: ${ConfigError.problem(expected, got, kind)}`);
  }

  private static problem(expected: string, got: unknown, kind: ConfigError['kind']): string {
    if (kind === 'unknown-key') return `unknown key; expected one of ${expected}`;
    if (kind === 'refused') return expected;
    return `expected ${expected}, got ${describeValue(got)}`;
  }
}

/** A short description of a value from a configuration file. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Type checks that throw a `ConfigError` naming the key. */
export class Checker {
  /** `parent.name`, or `parent["name"]` when the name is not an identifier. */
  key(parent: string, name: string): string {
    if (/^[A-Za-z_$][\w$-]*$/.test(name)) return parent === '' ? name : `${parent}.${name}`;
    return `${parent}[${JSON.stringify(name)}]`;
  }

  /** An object (not an array), with no keys besides `allowed` when given. */
  object(value: unknown, path: string, allowed?: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigError(path, 'an object', value);
    }
    if (allowed !== undefined) {
      for (const key of Object.keys(value)) {
        if (!allowed.includes(key)) {
          throw new ConfigError(
            this.key(path, key),
            allowed.length === 0 ? '(none)' : allowed.join(', '),
            value,
            'unknown-key',
          );
        }
      }
    }
    return value as Record<string, unknown>;
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) throw new ConfigError(path, 'an array', value);
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string' || value === '') throw new ConfigError(path, 'a non-empty string', value);
    return value;
  }

  boolean(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') throw new ConfigError(path, 'true or false', value);
    return value;
  }

  number(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !(value >= min && value <= max)) {
      throw new ConfigError(path, `a number from ${min} to ${max}`, value);
    }
    return value;
  }

  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(path, `an integer from ${min} to ${max}`, value);
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) {
      throw new ConfigError(path, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
    }
    return value as T;
  }
}
