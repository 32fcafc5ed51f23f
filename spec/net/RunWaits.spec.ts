import { RunWaits } from '../../src/net/RunWaits.js';

describe('RunWaits', () => {
  it('should call a wait once every doc it names has finished a run, each doc counted once', () => {
    const waits = new RunWaits();
    const done = jest.fn();
    waits.all(['a', 'b', 'a'], done);

    waits.finished('a');
    waits.finished('a');
    expect(done).not.toHaveBeenCalled();
    waits.finished('b');
    expect(done).toHaveBeenCalledTimes(1);
    waits.finished('b');
    expect(done).toHaveBeenCalledTimes(1);
    expect(waits.size).toBe(0);
  });

  it('should count only runs finished after the wait began, and call only the waits for the doc that ran', () => {
    const waits = new RunWaits();
    waits.finished('a');
    const forA = jest.fn();
    const forB = jest.fn();
    waits.all(['a'], forA);
    waits.all(['b'], forB);

    waits.finished('a');

    expect(forA).toHaveBeenCalledTimes(1);
    expect(forB).not.toHaveBeenCalled();
  });

  it('should leave a wait begun by a finishing run for the next run', () => {
    const waits = new RunWaits();
    const again = jest.fn();
    waits.all(['a'], () => waits.all(['a'], again));

    waits.finished('a');
    expect(again).not.toHaveBeenCalled();
    waits.finished('a');
    expect(again).toHaveBeenCalledTimes(1);
  });

  it('should forget a cancelled wait', () => {
    const waits = new RunWaits();
    const done = jest.fn();
    const kept = jest.fn();
    const cancel = waits.all(['a', 'b'], done);
    waits.all(['a'], kept);

    waits.finished('a');
    cancel();
    waits.finished('b');

    expect(done).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
    expect(waits.size).toBe(0);
  });

  it('should call a wait for no docs at once', () => {
    const done = jest.fn();
    new RunWaits().all([], done);
    expect(done).toHaveBeenCalledTimes(1);
  });
});
