import { callOperation } from '../../src/instrumentation-api';

/** After-handler: ends the operation the call's before-handler started. */
export function endOperation(): void {
  callOperation()?.end();
}

/** Error handler: ends the operation as failed with the call's error. */
export function endOperationWithError(error: unknown): void {
  callOperation()?.end(error);
}
