import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { DebugRequest } from './debug-request';
import { TimingInstance, TimingNode } from './timing-tree';

/**
 * Keeps one object of each shape a debugged request builds alive for the
 * life of the process.
 *
 * V8 holds the shapes (maps) an object acquires as its fields are added
 * only weakly: once no object of a shape is alive, a full GC frees the
 * shape and deoptimises every function whose optimised code embedded it
 * (`--trace-deopt-verbose`: "marking dependent code ... reason: weak
 * objects"). A debugged request's tree nodes, instances, spans and the
 * request's own state all die with the request, so in a process where
 * debugged requests are rare (or in the contexts bench, which forces a
 * full GC before each request) every major GC between two of them threw
 * the debug path's optimised code away, and the next debugged request ran
 * it unoptimised until V8 compiled it again: about half the variance of
 * the contexts bench. The exemplars here are built through the same
 * constructors, with the field representations real ones end up with
 * (a fractional `totalTime`, a prop map), so their shapes are the ones the
 * optimised code embeds; they hold a few hundred bytes.
 */
const exemplars: unknown[] = [];

/** Builds the exemplars (once). */
export function keepDebugShapes(): void {
  if (exemplars.length > 0) return;
  const node = new TimingNode('', undefined);
  node.totalTime = 0.5;
  const child = node.child('exemplar');
  child.totalTime = 0.5;
  child.setProp('exemplar', true);
  const instance = new TimingInstance(child, undefined, 0.5, 1, undefined, node);
  instance.open = false;
  const request = new DebugRequest({
    requestId: '',
    loopback: false,
    log: false,
    tracer: trace.getTracer('dynamic-hooks'),
    parentContext: ROOT_CONTEXT,
    rootSpanName: '',
    rootAttributes: {},
    output: { headerName: '', response: {}, setHeader: () => undefined, logger: () => undefined },
  });
  exemplars.push(node, instance, request);
}
