import type { LockManagerLike } from '../../src/streams/leadership.js';

/**
 * Grants an exclusive lock to one holder at a time, in request order, like `navigator.locks`
 * (one lock whatever the name: a spec uses one name per instance).
 *
 * @example
 * const locks = new FakeLocks();
 * leadership$({ name: 'app', locks }).subscribe(leading => console.log(leading));
 */
export class FakeLocks implements LockManagerLike {
  private tail = Promise.resolve();

  request(_name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown> {
    const turn = this.tail.then(() => {
      if (options.signal?.aborted) throw new DOMException('aborted', 'AbortError');
      return callback();
    });
    this.tail = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }
}
