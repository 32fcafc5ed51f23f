import { eachAtMost } from '../../src/util/eachAtMost.js';

describe('eachAtMost', () => {
  /** Work that settles when the test says: records how many run at once. */
  function gated() {
    const release: Array<(fail?: boolean) => void> = [];
    let running = 0;
    let most = 0;
    const done: number[] = [];
    const work = (item: number) =>
      new Promise<void>((resolve, reject) => {
        running++;
        most = Math.max(most, running);
        release.push((fail) => {
          running--;
          done.push(item);
          if (fail) reject(new Error(`item ${item} failed`));
          else resolve();
        });
      });
    return { release, work, done, most: () => most };
  }
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('should run every item, never more than the limit at once', async () => {
    const { release, work, done, most } = gated();
    const all = eachAtMost(2, [1, 2, 3, 4, 5], work);
    for (let i = 0; i < 5; i++) {
      await turn();
      release.shift()!();
    }
    await all;
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(most()).toBe(2);
  });

  it('should start nothing more after a failure, and reject with it once the started ones settle', async () => {
    const { release, work, done } = gated();
    let settled = false;
    const all = eachAtMost(2, [1, 2, 3, 4], work).finally(() => (settled = true));
    await turn();
    release.shift()!(true);
    await turn();
    expect(settled).toBe(false);
    release.shift()!();
    await expect(all).rejects.toThrow('item 1 failed');
    expect(done).toEqual([1, 2]);
  });

  // Found in review, fixed: a limit of 0 resolved without running anything.
  it.each([0, -1, Number.NaN])('should reject a limit of %p with a RangeError, running nothing', async (limit) => {
    const work = jest.fn(() => Promise.resolve());
    await expect(eachAtMost(limit, [1, 2], work)).rejects.toThrow(new RangeError(`eachAtMost: the limit must be at least 1, not ${limit}`));
    expect(work).not.toHaveBeenCalled();
  });

  it('should resolve at once for no items', async () => {
    await expect(eachAtMost(4, [], () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});
