/**
 * The library as users run it: the compiled package in dist/ (`npm run
 * bench` builds it first). Running src/ through tsx would add a `__name`
 * call to every closure the library creates, which the compiled code does
 * not have.
 */
import type * as Library from '../src';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const library = require('../dist/src') as typeof Library;
