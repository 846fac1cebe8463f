import type * as SdkNode from '@opentelemetry/sdk-node';
import { createRequire } from 'node:module';

/** The optional peer dependency that `dynamic-hooks/register` starts. */
export const NODE_SDK_PACKAGE = '@opentelemetry/sdk-node';

/**
 * Loads `@opentelemetry/sdk-node` synchronously (a `--require` hook must
 * start the SDK before the application's first line runs). It is an optional
 * peer dependency, needed only by `dynamic-hooks/register`; when it is not
 * installed this throws an `Error` that says what to install.
 */
export function loadNodeSdk(): typeof SdkNode {
  const load = createRequire(__filename);
  try {
    load.resolve(NODE_SDK_PACKAGE);
  } catch {
    throw new Error(
      `dynamic-hooks/register starts the OpenTelemetry NodeSDK from ${NODE_SDK_PACKAGE}, which is not installed. ` +
        `Install it next to dynamic-hooks: npm install ${NODE_SDK_PACKAGE}`,
    );
  }
  return load(NODE_SDK_PACKAGE) as typeof SdkNode;
}
