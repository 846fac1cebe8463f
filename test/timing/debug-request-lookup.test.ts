import { expect } from 'chai';
import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { contextWithScope, endScope, newRequestScope, type RequestScope } from '../../src/core/request-scope';
import { attachDebugRequest, DebugRequest, debugRequestIn } from '../../src/timing/debug-request';

/** A debugged request (no-op spans) attached to a scope of its own, and a context in that scope. */
function debugged(requestId: string): { debug: DebugRequest; scope: RequestScope; ctx: Context } {
  const debug = new DebugRequest({
    requestId,
    tracer: trace.getTracer('test'),
    parentContext: ROOT_CONTEXT,
    rootSpanName: 'request',
    rootAttributes: {},
    loopback: true,
    log: false,
    output: { headerName: 'x-debug-output', response: {}, setHeader: () => undefined, logger: () => undefined },
  });
  const scope = newRequestScope();
  attachDebugRequest(scope, debug);
  return { debug, scope, ctx: contextWithScope(ROOT_CONTEXT, scope) };
}

describe('debugRequestIn: the debugged request a context belongs to', () => {
  it('answers each context with its own request, asked again and in turn', () => {
    const a = debugged('a');
    const b = debugged('b');
    expect(debugRequestIn(a.ctx)).to.equal(a.debug);
    expect(debugRequestIn(a.ctx)).to.equal(a.debug);
    expect(debugRequestIn(b.ctx)).to.equal(b.debug);
    expect(debugRequestIn(a.ctx)).to.equal(a.debug);
    expect(debugRequestIn(ROOT_CONTEXT)).to.equal(undefined);
    expect(debugRequestIn(a.ctx)).to.equal(a.debug);
  });

  it('answers nothing once the request finished, or once its scope ended without finishing it', () => {
    const finished = debugged('finished');
    expect(debugRequestIn(finished.ctx)).to.equal(finished.debug);
    finished.debug.finish();
    expect(debugRequestIn(finished.ctx)).to.equal(undefined);

    // A log phase that failed before finishing the request: its scope still ends.
    const abandoned = debugged('abandoned');
    expect(debugRequestIn(abandoned.ctx)).to.equal(abandoned.debug);
    endScope(abandoned.scope);
    expect(debugRequestIn(abandoned.ctx)).to.equal(undefined);
  });

  it('holds no finished request: it can be collected', async function () {
    const collect = globalThis.gc;
    if (collect === undefined) this.skip();
    const ref = ((): WeakRef<DebugRequest> => {
      const { debug, scope, ctx } = debugged('collected');
      expect(debugRequestIn(ctx)).to.equal(debug);
      debug.finish();
      endScope(scope);
      return new WeakRef(debug);
    })();
    // A WeakRef keeps its target for the rest of the job that made it.
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    expect(ref.deref()).to.equal(undefined);
  });
});
