import { VirtualTimeScheduler } from 'rxjs';
import { RefreshRetries } from '../../../src/server/docs/RefreshRetries.js';

describe('RefreshRetries', () => {
  let scheduler: VirtualTimeScheduler;
  let tries: Array<[string, number]>;
  beforeEach(() => {
    scheduler = new VirtualTimeScheduler();
    tries = [];
  });
  const retriesWith = (random: () => number) => new RefreshRetries((docId) => tries.push([docId, scheduler.now()]), scheduler, random);

  it('should try again after 1 s × 2ⁿ, at most 30 s, each delay cut to a random 50–100 %', () => {
    const retries = retriesWith(() => 0.5);
    for (let attempt = 0; attempt < 7; attempt++) {
      retries.schedule('notes');
      scheduler.flush();
    }
    const gaps = tries.map(([, at], i) => at - (i ? tries[i - 1][1] : 0));
    expect(gaps).toEqual([750, 1500, 3000, 6000, 12000, 22500, 22500]);

    const halved = retriesWith(() => 0);
    tries = [];
    const start = scheduler.now();
    halved.schedule('todo');
    scheduler.flush();
    expect(tries).toEqual([['todo', start + 500]]);
  });

  it('should start over from the shortest delay after clear, and never try again after close', () => {
    const retries = retriesWith(() => 0.5);
    retries.schedule('notes');
    scheduler.flush();
    retries.schedule('notes');
    retries.clear('notes');
    scheduler.flush();
    expect(tries).toEqual([['notes', 750]]);
    retries.schedule('notes');
    scheduler.flush();
    expect(tries).toEqual([['notes', 750], ['notes', 1500]]);

    retries.schedule('notes');
    retries.close();
    retries.schedule('todo');
    scheduler.flush();
    expect(tries).toHaveLength(2);
  });
});
