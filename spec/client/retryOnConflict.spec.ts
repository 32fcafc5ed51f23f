import { DocNotTrackedError, StoreConflictError, StoreError, StoreLostError } from '../../src/errors.js';
import { redoOnRead, retryOnConflict } from '../../src/client/retryOnConflict.js';

describe('retryOnConflict', () => {
  it('should redo the step after each conflict, bringing the doc up to date in between', async () => {
    const log: string[] = [];
    let attempts = 0;
    const result = await retryOnConflict(
      async () => {
        log.push(`attempt ${++attempts}`);
        if (attempts < 3) throw new StoreConflictError('d', 'changed');
        return 'done';
      },
      async () => {
        log.push('refresh');
      },
    );
    expect(result).toBe('done');
    expect(log).toEqual(['attempt 1', 'refresh', 'attempt 2', 'refresh', 'attempt 3']);
  });

  it('should reject at once with any other error', async () => {
    let refreshed = 0;
    const error = new StoreError('quota', 'd');
    await expect(retryOnConflict(async () => Promise.reject(error), async () => void refreshed++)).rejects.toBe(error);
    expect(refreshed).toBe(0);
  });

  it('should redo ten conflicts at once, then wait a random while before each try, growing up to 200 ms, and give up after 300', async () => {
    let attempts = 0;
    const pauses: Array<{ after: number; ms: number }> = [];
    const failing = retryOnConflict(
      async () => {
        attempts++;
        throw new StoreConflictError('d', 'changed');
      },
      async () => {},
      async ms => void pauses.push({ after: attempts, ms }),
    );
    await expect(failing).rejects.toBeInstanceOf(StoreConflictError);
    expect(attempts).toBe(300);
    expect(pauses.map(p => p.after)).toEqual(Array.from({ length: 290 }, (_, i) => i + 10));
    const bounds = [2, 4, 8, 16, 32, 64, 128, 200, 200];
    pauses.slice(0, bounds.length).forEach((p, i) => expect(p.ms).toBeLessThan(bounds[i]));
    expect(Math.max(...pauses.map(p => p.ms))).toBeLessThan(200);
    expect(pauses.slice(-20).some(p => p.ms > 2)).toBe(true);
  });
});

describe('retryOnConflict: a refresh that fails', () => {
  const aborted = () => Object.assign(new Error('The transaction was aborted'), { name: 'AbortError' });

  it('should be tried again with the next conflict, so a store that failed a moment does not fail the step', async () => {
    const log: string[] = [];
    let attempts = 0;
    let refreshes = 0;
    const result = await retryOnConflict(
      async () => {
        log.push(`attempt ${++attempts}`);
        if (refreshes < 3) throw new StoreConflictError('d', 'changed');
        return 'saved';
      },
      async () => {
        log.push(`refresh ${++refreshes}`);
        if (refreshes <= 2) throw aborted();
      },
      async ms => void log.push(`pause < ${Math.ceil(ms)}`),
    );
    expect(result).toBe('saved');
    expect(log.filter(line => !line.startsWith('pause'))).toEqual(['attempt 1', 'refresh 1', 'attempt 2', 'refresh 2', 'attempt 3', 'refresh 3', 'attempt 4']);
    // After a failed refresh, each try first waits a little: the store gets a moment.
    expect(log.filter(line => line.startsWith('pause'))).toHaveLength(2);
  });

  it('should fail the step with the third failure in a row', async () => {
    let refreshes = 0;
    const third = aborted();
    const step = retryOnConflict(
      async () => Promise.reject(new StoreConflictError('d', 'changed')),
      async () => {
        refreshes++;
        throw refreshes === 3 ? third : aborted();
      },
      async () => {},
    );
    await expect(step).rejects.toBe(third);
    expect(refreshes).toBe(3);
  });

  it('should fail the step at once when retrying cannot help: the store lost or outdated, the doc untracked', async () => {
    for (const error of [new StoreLostError('app', 4, 'closed'), new DocNotTrackedError('d', false)]) {
      let refreshes = 0;
      const step = retryOnConflict(
        async () => Promise.reject(new StoreConflictError('d', 'changed')),
        async () => {
          refreshes++;
          throw error;
        },
        async () => {},
      );
      await expect(step).rejects.toBe(error);
      expect(refreshes).toBe(1);
    }
  });
});

describe('redoOnRead', () => {
  it('should make any failure of a step computed on kept data a conflict, so it is redone on a read', async () => {
    const gap = new StoreError('Missing changes: expected rev 2, got 3');
    const redone = redoOnRead('d', gap);
    expect(redone).toBeInstanceOf(StoreConflictError);
    expect(redone).toMatchObject({ docId: 'd', detail: 'on what this tab wrote last: Missing changes: expected rev 2, got 3' });
    const conflict = new StoreConflictError('d', 'committedRev 3 ≠ expected 2');
    expect(redoOnRead('d', conflict)).toBe(conflict);
    // Redone once on a read, a real failure comes back as itself.
    let attempts = 0;
    const step = retryOnConflict(
      async () => {
        attempts++;
        if (attempts === 1) throw redoOnRead('d', gap);
        throw gap;
      },
      async () => undefined,
    );
    await expect(step).rejects.toBe(gap);
    expect(attempts).toBe(2);
  });
});
