// `node --import dynamic-hooks/register`: registers the import-in-the-middle
// loader before anything else, so that the ES modules the application imports
// (`import http from 'node:http'`, ESM imports of instrumented packages) can
// be patched, then starts the SDK through the CommonJS entry, which holds the
// one copy of the library's state that `require` and `import` share.
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const started = await import('./index.js');

/** See the CommonJS entry: exports pending spans and stops the SDK. */
export const shutdown: () => Promise<void> = started.shutdown;
/** See the CommonJS entry: exports pending spans now. */
export const forceFlush: () => Promise<void> = started.forceFlush;
