import { lazyAlgorithm } from '../../src/client/lazyAlgorithm.js';
import type { ClientAlgorithm } from '../../src/client/ClientAlgorithm.js';
import type { Change } from '../../src/types.js';

/** An algorithm that records each call (only the methods a case uses answer). */
function recording(calls: string[]): ClientAlgorithm {
  // One recorder stands for every method: the cases only look at what it recorded.
  const record = (name: string) =>
    ((docId: string) => {
      calls.push(`${name} ${docId}`);
      return Promise.resolve(name === 'hasPending' ? true : []);
    }) as never;
  return {
    name: 'lww',
    mint: record('mint'),
    hasPending: record('hasPending'),
    getPendingToSend: record('getPendingToSend'),
    isQueued: record('isQueued'),
    replacePending: record('replacePending'),
    refresh: record('refresh'),
    applyServerChanges: record('applyServerChanges'),
    installSnapshot: record('installSnapshot'),
    rebaseOntoServer: record('rebaseOntoServer'),
  };
}

describe('lazyAlgorithm', () => {
  it('should not load before the first call, and know its name without loading', () => {
    const load = jest.fn(() => Promise.resolve(recording([])));
    const lazy = lazyAlgorithm('lww', load);
    expect(lazy.name).toBe('lww');
    expect(load).not.toHaveBeenCalled();
  });

  it('should load once for concurrent first calls and run them in call order', async () => {
    const calls: string[] = [];
    const load = jest.fn(() => Promise.resolve(recording(calls)));
    const lazy = lazyAlgorithm('lww', load);
    const results = await Promise.all([lazy.hasPending('a'), lazy.getPendingToSend('b'), lazy.refresh('c')]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(calls).toEqual(['hasPending a', 'getPendingToSend b', 'refresh c']);
    expect(results[0]).toBe(true);
  });

  it('should pass every argument through to the loaded algorithm', async () => {
    const inner = recording([]);
    const spy = jest.spyOn(inner, 'applyServerChanges');
    const lazy = lazyAlgorithm('lww', () => Promise.resolve(inner));
    const changes = [{ id: 'x' }] as Change[];
    const sent = [{ id: 'y' }] as Change[];
    await lazy.applyServerChanges('d', changes, sent);
    expect(spy).toHaveBeenCalledWith('d', changes, sent);
  });

  it('should call straight through once loaded, returning the algorithm\'s own promise', async () => {
    const inner = recording([]);
    const lazy = lazyAlgorithm('lww', () => Promise.resolve(inner));
    await lazy.refresh('warm-up');
    const answer = Promise.resolve(false);
    jest.spyOn(inner, 'hasPending').mockReturnValue(answer);
    expect(lazy.hasPending('d')).toBe(answer);
  });

  it('should reject the calls waiting on a failed load and load again on the next call', async () => {
    const calls: string[] = [];
    const load = jest.fn<Promise<ClientAlgorithm>, []>().mockRejectedValueOnce(new Error('chunk failed')).mockResolvedValue(recording(calls));
    const lazy = lazyAlgorithm('lww', load);
    await expect(lazy.refresh('a')).rejects.toThrow('chunk failed');
    await expect(lazy.refresh('b')).resolves.toEqual([]);
    expect(load).toHaveBeenCalledTimes(2);
    expect(calls).toEqual(['refresh b']);
  });
});
