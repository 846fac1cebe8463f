/** Boundary checks: each throws a TypeError or RangeError naming the argument. */

export function checkGroupName(value: unknown, argument = 'group'): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${argument} must be a non-empty string, got ${describe(value)}`);
  }
}

export function checkFunction(value: unknown, argument: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new TypeError(`${argument} must be a function, got ${describe(value)}`);
  }
}

export function checkObject(value: unknown, argument: string): asserts value is object {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new TypeError(`${argument} must be an object or a function, got ${describe(value)}`);
  }
}

export function checkOneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  argument: string,
): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `${argument} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`,
    );
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `${typeof value} ${value.toString()}`;
  }
  return typeof value;
}
