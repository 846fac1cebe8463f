/**
 * Names of the request debugging headers and environment, shared by the
 * timing module and its clients (the `dynamic-hooks` CLI): kept free of
 * imports so that the CLI loads nothing else.
 */

/** The debug headers' prefix unless `headerPrefix` says otherwise. */
export const DEFAULT_HEADER_PREFIX = 'X-Request-Debug';

/** The environment variable holding the debug token; it wins over `token` from the code. */
export const TOKEN_ENV = 'DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN';

/** An HTTP field name (RFC 9110 token). */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
