import { createChange } from '../../src/algorithms/createChange.js';
import type { JSONPatchOp } from '../../src/types.js';

const ops: JSONPatchOp[] = [{ op: 'replace', path: '/title', value: 'Hi' }];

describe('createChange', () => {
  it('should create an uncommitted change with the given fields', () => {
    const change = createChange(ops, { baseRev: 3, rev: 4, id: 'c1', createdAt: 1234 });
    expect(change).toEqual({ id: 'c1', ops, baseRev: 3, rev: 4, createdAt: 1234, committedAt: 0 });
  });

  it('should mint a fresh 12-character id when none is given', () => {
    const a = createChange(ops, { baseRev: 0, rev: 1, createdAt: 1 });
    const b = createChange(ops, { baseRev: 0, rev: 1, createdAt: 1 });
    expect(a.id).toMatch(/^[0-9A-Za-z]{12}$/);
    expect(a.id).not.toBe(b.id);
  });

  it('should take the time from its caller and never read the clock', () => {
    const now = jest.spyOn(Date, 'now');
    try {
      expect(createChange(ops, { baseRev: 0, rev: 1, createdAt: 987654 }).createdAt).toBe(987654);
      expect(now).not.toHaveBeenCalled();
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('should not compile without a time', () => {
    // @ts-expect-error createdAt is required: src/algorithms reads no clock
    const change = createChange(ops, { baseRev: 0, rev: 1 });
    expect(change.createdAt).toBeUndefined();
  });

  it('should spread metadata as top-level keys', () => {
    const change = createChange(ops, { baseRev: 0, rev: 1, id: 'c', createdAt: 5, metadata: { user: { id: 'u1' }, batchId: 'b' } });
    expect(change).toMatchObject({ user: { id: 'u1' }, batchId: 'b' });
  });

  it('should never let metadata override id, ops, baseRev, rev, createdAt or committedAt', () => {
    const metadata = { id: 'evil', ops: [], baseRev: 99, rev: 99, createdAt: -1, committedAt: 42, extra: true };
    const change = createChange(ops, { baseRev: 3, rev: 4, id: 'c1', createdAt: 1234, metadata });
    expect(change).toEqual({ id: 'c1', ops, baseRev: 3, rev: 4, createdAt: 1234, committedAt: 0, extra: true });
  });

  it('should keep a minted id over a metadata id', () => {
    const change = createChange(ops, { baseRev: 0, rev: 1, createdAt: 1, metadata: { id: 'evil' } });
    expect(change.id).not.toBe('evil');
    expect(change.id).toHaveLength(12);
  });

  it('should not mutate the metadata object', () => {
    const metadata = { user: 'alice' };
    createChange(ops, { baseRev: 0, rev: 1, id: 'c', createdAt: 1, metadata });
    expect(metadata).toEqual({ user: 'alice' });
  });
});
