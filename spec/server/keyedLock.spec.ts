import { KeyedLock } from '../../src/server/keyedLock.js';

describe('KeyedLock', () => {
  it('should run tasks for one key one at a time, in queue order', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = lock.run('a', async () => {
      events.push('first:start');
      await gate;
      events.push('first:end');
      return 1;
    });
    const second = lock.run('a', () => {
      events.push('second');
      return 2;
    });
    await Promise.resolve();
    expect(events).toEqual(['first:start']);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(events).toEqual(['first:start', 'first:end', 'second']);
  });

  it('should not make different keys wait for each other', async () => {
    const lock = new KeyedLock();
    let release!: () => void;
    const blocked = lock.run('a', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(lock.run('b', () => 'b')).resolves.toBe('b');
    expect(lock.isBusy('a')).toBe(true);
    release();
    await blocked;
  });

  it('should keep the chain going after a task fails', async () => {
    const lock = new KeyedLock();
    const failed = lock.run('a', () => {
      throw new Error('boom');
    });
    const next = lock.run('a', () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });

  it('should report idle once every queued task settled, and forget idle keys', async () => {
    const lock = new KeyedLock();
    const done: string[] = [];
    void lock.run('a', async () => void done.push('a'));
    void lock.run('b', async () => void done.push('b'));
    await lock.idle();
    expect(done.sort()).toEqual(['a', 'b']);
    await Promise.resolve();
    expect(lock.isBusy('a')).toBe(false);
  });
});
