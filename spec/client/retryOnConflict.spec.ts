import { StoreConflictError, StoreError } from '../../src/errors.js';
import { retryOnConflict } from '../../src/client/retryOnConflict.js';

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

  it('should give up with the conflict when it keeps coming back', async () => {
    let attempts = 0;
    const failing = retryOnConflict(
      async () => {
        attempts++;
        throw new StoreConflictError('d', 'changed');
      },
      async () => {},
    );
    await expect(failing).rejects.toBeInstanceOf(StoreConflictError);
    expect(attempts).toBe(50);
  });
});
