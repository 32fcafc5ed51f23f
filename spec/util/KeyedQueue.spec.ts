import { KeyedQueue } from '../../src/util/KeyedQueue.js';

describe('KeyedQueue', () => {
  it('should run tasks for one key one at a time, in queue order', async () => {
    const lock = new KeyedQueue();
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
    const lock = new KeyedQueue();
    let release!: () => void;
    const blocked = lock.run('a', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(lock.run('b', () => 'b')).resolves.toBe('b');
    expect(lock.isBusy('a')).toBe(true);
    release();
    await blocked;
  });

  it('should keep the chain going after a task fails', async () => {
    const lock = new KeyedQueue();
    const failed = lock.run('a', () => {
      throw new Error('boom');
    });
    const next = lock.run('a', () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });

  it('should report idle once every queued task settled, and forget idle keys', async () => {
    const lock = new KeyedQueue();
    const done: string[] = [];
    void lock.run('a', async () => void done.push('a'));
    void lock.run('b', async () => void done.push('b'));
    await lock.idle();
    expect(done.sort()).toEqual(['a', 'b']);
    await Promise.resolve();
    expect(lock.isBusy('a')).toBe(false);
  });

  it('should resolve settled(key) only after every task queued for that key so far, failures included', async () => {
    const queue = new KeyedQueue();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>(resolve => (release = resolve));
    void queue.run('doc', () => gate).then(() => order.push('first'));
    void queue.run('doc', () => Promise.reject(new Error('second fails'))).catch(() => order.push('second'));
    const settled = queue.settled('doc').then(() => order.push('settled'));
    release();
    await settled;
    expect(order).toEqual(['first', 'second', 'settled']);
    await expect(queue.settled('idle-key')).resolves.toBeUndefined();
  });
});
