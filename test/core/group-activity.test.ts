import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { alwaysEnable, disableByDefault } from '../../src';
import { watchGroupActivity } from '../../src/core/group-state';

// What a subscription that is dear to start and stop (a diagnostics
// channel) relies on: it hears when a group becomes enabled anywhere at
// once, and when it is dormant again only after it stayed so for the
// linger, so groups switched on and off in quick succession (debugged
// requests coming and going) do not make it churn.
describe('watching a group become enabled and dormant', () => {
  const heard: boolean[] = [];
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    heard.length = 0;
  });

  it('reports both edges at once without a linger', () => {
    stop = watchGroupActivity('activity_plain', (active) => heard.push(active));
    alwaysEnable('activity_plain');
    disableByDefault('activity_plain');
    expect(heard).to.deep.equal([false, true, false]);
  });

  it('reports dormancy only once the group stayed dormant for the linger', async () => {
    stop = watchGroupActivity('activity_linger', (active) => heard.push(active), 100);
    for (let i = 0; i < 5; i++) {
      alwaysEnable('activity_linger');
      disableByDefault('activity_linger');
      await sleep(10);
    }
    expect(heard, 'within the linger').to.deep.equal([false, true]);
    await sleep(200);
    expect(heard, 'after it').to.deep.equal([false, true, false]);
    alwaysEnable('activity_linger');
    expect(heard).to.deep.equal([false, true, false, true]);
    disableByDefault('activity_linger');
  });

  it('forgets a pending linger when stopped', async () => {
    stop = watchGroupActivity('activity_stopped', (active) => heard.push(active), 50);
    alwaysEnable('activity_stopped');
    disableByDefault('activity_stopped');
    stop();
    await sleep(100);
    expect(heard).to.deep.equal([false, true]);
  });
});
