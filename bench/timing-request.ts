import { ROOT_CONTEXT, type Context, type Tracer } from '@opentelemetry/api';
import { requestScopeOf } from '../src/core/request-scope';
import { attachDebugRequest, DebugRequest } from '../src/timing/debug-request';

/** A debugged request in `ctx`'s scope, its root span started: the context its code runs in. */
export function openBenchDebugRequest(ctx: Context, tracer: Tracer): Context {
  const scope = requestScopeOf(ctx);
  if (scope === undefined) throw new Error('no request scope');
  const debug = new DebugRequest({
    requestId: 'bench',
    loopback: true,
    log: false,
    tracer,
    parentContext: ROOT_CONTEXT,
    rootSpanName: 'request_debug GET',
    rootAttributes: {},
    output: { response: {}, headerName: 'x', setHeader: () => undefined, logger: () => undefined },
  });
  attachDebugRequest(scope, debug);
  debug.start(ctx);
  return debug.contextFor(ctx);
}
