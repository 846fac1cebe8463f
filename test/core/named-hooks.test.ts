import { expect } from 'chai';
import { alwaysEnable, enableOnThisRequest, hook, runHook, withRequestScope } from '../../src';
import { findGroup, releaseIfUnused, transientGroupState, type GroupState } from '../../src/core/group-state';
import { NamedHookCaller } from '../../src/core/named-hooks';
import { DiagCapture } from '../helpers/diag-capture';

let seq = 0;
function freshGroup(): string {
  return `named-hook-test-${++seq}`;
}

describe('hook and runHook', () => {
  it('runs the handler with the arguments only while the group is enabled for the context', () => {
    const group = freshGroup();
    const calls: unknown[][] = [];
    hook(group, 'log_event', (a: number, b: string) => calls.push([a, b]));
    runHook(group, 'log_event', 1, 'outside');
    withRequestScope(() => {
      runHook(group, 'log_event', 2, 'before enabling');
      enableOnThisRequest(group);
      runHook(group, 'log_event', 10, 'test');
    });
    withRequestScope(() => runHook(group, 'log_event', 3, 'other request'));
    expect(calls).to.deep.equal([[10, 'test']]);
  });

  it('finds each group run in turn, and keeps no transient entry remote input made', () => {
    const a = freshGroup();
    const b = freshGroup();
    hook(a, 'h', () => 'a');
    hook(b, 'h', () => 'b');
    alwaysEnable(a);
    alwaysEnable(b);
    const ran = [runHook(a, 'h'), runHook(b, 'h'), runHook(a, 'h'), runHook(a, 'h'), runHook(b, 'h')];
    expect(ran).to.deep.equal(['a', 'b', 'a', 'a', 'b']);
    // A transient entry leaves the table once nothing holds it; the process then makes its own.
    const c = freshGroup();
    const transient = transientGroupState(c) as GroupState;
    expect(runHook(c, 'h')).to.equal(undefined);
    releaseIfUnused(transient);
    hook(c, 'h', () => 'c');
    alwaysEnable(c);
    expect(runHook(c, 'h')).to.equal('c');
  });

  it('passes any number of arguments and returns the handler result', () => {
    const group = freshGroup();
    hook(group, 'sum', (...numbers: number[]) => numbers.reduce((a, b) => a + b, 0));
    alwaysEnable(group);
    expect(runHook(group, 'sum')).to.equal(0);
    expect(runHook(group, 'sum', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)).to.equal(55);
  });

  it('keeps one handler per group and name: a later one replaces it', () => {
    const group = freshGroup();
    const calls: string[] = [];
    hook(group, 'h', () => calls.push('first'));
    hook(group, 'h', () => calls.push('second'));
    hook(group, 'other', () => calls.push('other'));
    alwaysEnable(group);
    runHook(group, 'h');
    expect(calls).to.deep.equal(['second']);
  });

  it('returns a function that removes the handler', () => {
    const group = freshGroup();
    let calls = 0;
    const remove = hook(group, 'h', () => calls++);
    alwaysEnable(group);
    runHook(group, 'h');
    remove();
    runHook(group, 'h');
    expect(calls).to.equal(1);
  });

  it('never throws: unknown groups and names do nothing, a failing handler is reported', () => {
    const capture = new DiagCapture().install();
    try {
      const group = freshGroup();
      hook(group, 'broken', () => {
        throw new Error('handler failed');
      });
      alwaysEnable(group);
      expect(runHook(group, 'broken')).to.equal(undefined);
      expect(runHook(group, 'missing')).to.equal(undefined);
      expect(runHook('no-such-group', 'x')).to.equal(undefined);
      expect(runHook(42 as never, {} as never)).to.equal(undefined);
      expect(capture.warnings()).to.have.length(1);
      expect(capture.warnings()[0]).to.match(
        new RegExp(`^failed to run dynamic hook ${group}\\.broken: Error: handler failed`),
      );
    } finally {
      capture.uninstall();
    }
  });

  it('rejects bad registrations with a TypeError naming the argument', () => {
    expect(() => hook('', 'n', () => 0)).to.throw(TypeError, /group/);
    expect(() => hook('g', '', () => 0)).to.throw(TypeError, /name/);
    expect(() => hook('g', 'n', 'not a function' as never)).to.throw(TypeError, /handler/);
  });
});

describe('NamedHookCaller (the server integration per-request hooks)', () => {
  it('finds a group that did not exist when the caller was made, once the process mentions it', () => {
    const group = freshGroup();
    const caller = new NamedHookCaller(group, 'h');
    expect(caller.mayRun()).to.equal(false);
    expect(caller.run(1, 2)).to.equal(undefined);
    hook(group, 'h', (a: number, b: number) => a + b);
    expect(caller.mayRun()).to.equal(false);
    alwaysEnable(group);
    expect(caller.mayRun()).to.equal(true);
    expect(caller.run(1, 2)).to.equal(3);
  });

  it('keeps no transient entry: the group remote input made and dropped is found again once the process hooks it', () => {
    const group = freshGroup();
    const caller = new NamedHookCaller(group, 'h');
    const transient = transientGroupState(group);
    expect(transient?.transient).to.equal(true);
    expect(caller.mayRun()).to.equal(false);
    releaseIfUnused(transient as GroupState);
    expect(findGroup(group)).to.equal(undefined);
    hook(group, 'h', () => 'permanent');
    alwaysEnable(group);
    expect(caller.run()).to.equal('permanent');
  });

  it('runs only where the group is enabled, the current handler, and reports a failing one', () => {
    const capture = new DiagCapture().install();
    try {
      const group = freshGroup();
      const caller = new NamedHookCaller(group, 'h');
      hook(group, 'h', () => 'first');
      expect(withRequestScope(() => caller.run())).to.equal(undefined);
      expect(
        withRequestScope(() => {
          enableOnThisRequest(group);
          return caller.run();
        }),
      ).to.equal('first');
      alwaysEnable(group);
      hook(group, 'h', () => {
        throw new Error('handler failed');
      });
      expect(caller.run()).to.equal(undefined);
      expect(capture.warnings()[0]).to.match(
        new RegExp(`^failed to run dynamic hook ${group}\\.h: Error: handler failed`),
      );
    } finally {
      capture.uninstall();
    }
  });
});
