import fc from 'fast-check';
import type { StoredQueue } from '../../src/stores/PatchesStore.js';
import { unsentWork } from '../../src/stores/unsentWork.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

const set = (path: string, value: unknown, ts?: number): JSONPatchOp => ({ op: 'replace', path, value, ...(ts === undefined ? {} : { ts }) });
const change = (id: string, ops: JSONPatchOp[], baseRev: number, rev: number, extra: Partial<Change> = {}): Change => ({ id, ops, baseRev, rev, createdAt: 1_000, committedAt: 0, ...extra });
const otQueue = (pending: Change[], extra: Partial<StoredQueue> = {}): StoredQueue => ({ docId: 'notes', algorithm: 'ot', committedRev: 3, pending, pendingOps: [], sending: null, ...extra });
const lwwQueue = (sending: Change | null, pendingOps: JSONPatchOp[], committedRev = 7): StoredQueue => ({ docId: 'settings', algorithm: 'lww', committedRev, pending: [], pendingOps, sending });

describe('unsentWork', () => {
  it('should give nothing for a doc the store does not hold (a read of a tombstone or an unknown doc)', () => {
    expect(unsentWork(undefined)).toEqual([]);
  });

  describe('OT', () => {
    it('should give the pending queue as it is, in queue order', () => {
      const pending = [change('c1', [set('/a', 1)], 3, 4), change('c2', [set('/b', 1)], 3, 5, { batchId: 'c1', tag: 'kept' })];
      const queue = otQueue(pending);
      expect(unsentWork(queue)).toBe(pending);
      expect(unsentWork(queue).map(c => c.id)).toEqual(['c1', 'c2']);
    });

    it('should give nothing when nothing is pending', () => {
      expect(unsentWork(otQueue([]))).toEqual([]);
    });

    it('should read the pending queue only (an OT doc keeps no pending ops or change in flight)', () => {
      expect(unsentWork(otQueue([], { pendingOps: [set('/x', 1)], sending: change('s', [set('/y', 1)], 3, 4) }))).toEqual([]);
    });
  });

  describe('LWW', () => {
    it('should give nothing when neither ops in flight nor pending ops are held', () => {
      expect(unsentWork(lwwQueue(null, []))).toEqual([]);
      expect(unsentWork(lwwQueue(change('s', [], 7, 8), []))).toEqual([]);
    });

    it('should give the pending ops as one change on the committed rev, with no id of the user', () => {
      expect(unsentWork(lwwQueue(null, [set('/a', 1, 5), set('/b', 2, 6)], 7))).toEqual([{ id: '', ops: [set('/a', 1, 5), set('/b', 2, 6)], baseRev: 7, rev: 8, createdAt: 0, committedAt: 0 }]);
    });

    it('should give the change in flight with the pending ops after its own, keeping its id, revs and fields', () => {
      const sending = change('s1', [set('/a', 1, 5)], 6, 7, { batchId: 'b1', note: 'app data' });
      expect(unsentWork(lwwQueue(sending, [set('/a', 2, 8), set('/c', 3, 9)], 7))).toEqual([
        { id: 's1', ops: [set('/a', 1, 5), set('/a', 2, 8), set('/c', 3, 9)], baseRev: 6, rev: 7, createdAt: 1_000, committedAt: 0, batchId: 'b1', note: 'app data' },
      ]);
    });

    it('should give the change in flight alone when nothing else is pending', () => {
      const sending = change('s1', [set('/a', 1, 5)], 7, 8);
      expect(unsentWork(lwwQueue(sending, []))).toEqual([sending]);
    });

    it('should leave the stored queue as it was', () => {
      const sending = change('s1', [set('/a', 1, 5)], 7, 8);
      const pendingOps = [set('/b', 2, 6)];
      const [work] = unsentWork(lwwQueue(sending, pendingOps));
      work.ops.push(set('/z', 0));
      expect(sending.ops).toEqual([set('/a', 1, 5)]);
      expect(pendingOps).toEqual([set('/b', 2, 6)]);
    });

    const op = fc.record({ op: fc.constant('replace' as const), path: fc.constantFrom('/a', '/b', '/a/b', '/c'), value: fc.integer(), ts: fc.integer({ min: 1, max: 99 }) });
    it('should hand over every op held, those in flight first, as at most one change', () => {
      fc.assert(
        fc.property(fc.option(fc.array(op, { maxLength: 4 }), { nil: null }), fc.array(op, { maxLength: 4 }), fc.nat(50), (inFlight, pendingOps, committedRev) => {
          const sending = inFlight && change('s', inFlight, committedRev, committedRev + 1);
          const work = unsentWork(lwwQueue(sending, pendingOps, committedRev));
          expect(work.flatMap(c => c.ops)).toEqual([...(inFlight ?? []), ...pendingOps]);
          expect(work.length).toBe(work.flatMap(c => c.ops).length === 0 ? 0 : 1);
          for (const c of work) expect([c.baseRev, c.rev]).toEqual([committedRev, committedRev + 1]);
        }),
      );
    });
  });
});
