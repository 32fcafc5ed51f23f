import fc from 'fast-check';
import {
  ancestorPaths,
  applyDelta,
  combineBitmasks,
  consolidateFieldOp,
  consolidateOps,
  convertDeltaOps,
  isDeltaOp,
  isSoftOp,
} from '../../../src/algorithms/lww/consolidateOps.js';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import type { JSONPatchOp } from '../../../src/types.js';

const RUNS = { numRuns: 500 };

/** Deep-freezes a value so a test fails if the code under test mutates its input. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) frozen((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

const bit = (index: number, on: boolean): number => (on ? 1 << index : 1 << (index + 15));

describe('isDeltaOp / isSoftOp / ancestorPaths', () => {
  it('should recognise the four delta ops and nothing else', () => {
    for (const op of ['@inc', '@bit', '@max', '@min']) expect(isDeltaOp({ op, path: '/a', value: 1 })).toBe(true);
    for (const op of ['add', 'replace', 'remove', '@txt', 'move']) expect(isDeltaOp({ op, path: '/a', value: 1 })).toBe(false);
  });

  it('should treat soft: true and an add of an empty container as soft', () => {
    expect(isSoftOp({ op: 'replace', path: '/a', value: 1, soft: true })).toBe(true);
    expect(isSoftOp({ op: 'add', path: '/a', value: {} })).toBe(true);
    expect(isSoftOp({ op: 'add', path: '/a', value: [] })).toBe(true);
    expect(isSoftOp({ op: 'add', path: '/a', value: { b: 1 } })).toBe(false);
    expect(isSoftOp({ op: 'replace', path: '/a', value: {} })).toBe(false);
    expect(isSoftOp({ op: 'add', path: '/a', value: null })).toBe(false);
  });

  it('should list ancestors nearest first, ending with the root', () => {
    expect(ancestorPaths('/a/b/c')).toEqual(['/a/b', '/a', '']);
    expect(ancestorPaths('/a')).toEqual(['']);
    expect(ancestorPaths('')).toEqual([]);
    expect(ancestorPaths('/a~1b/c')).toEqual(['/a~1b', '']);
  });
});

describe('applyDelta', () => {
  it('should start from the fresh base when nothing is there', () => {
    expect(applyDelta(undefined, { op: '@inc', path: '/n', value: 3 })).toEqual({ ok: true, value: 3 });
    expect(applyDelta(undefined, { op: '@bit', path: '/n', value: bit(2, true) })).toEqual({ ok: true, value: 4 });
    expect(applyDelta(undefined, { op: '@max', path: '/n', value: 7 })).toEqual({ ok: true, value: 7 });
    expect(applyDelta(undefined, { op: '@min', path: '/n', value: 7 })).toEqual({ ok: true, value: 7 });
  });

  it('should fail where the op could not apply', () => {
    expect(applyDelta('x', { op: '@inc', path: '/n', value: 1 })).toEqual({ ok: false });
    expect(applyDelta(1, { op: '@inc', path: '/n', value: 'x' })).toEqual({ ok: false });
    expect(applyDelta(1, { op: 'replace', path: '/n', value: 2 })).toEqual({ ok: false });
  });
});

describe('combineBitmasks', () => {
  it('should let the second mask decide a bit both touch', () => {
    expect(combineBitmasks(bit(0, true), bit(0, false))).toBe(bit(0, false));
    expect(combineBitmasks(bit(0, false), bit(0, true))).toBe(bit(0, true));
    expect(combineBitmasks(bit(0, true), bit(1, true))).toBe(bit(0, true) | bit(1, true));
  });

  it('should have the effect of applying both masks in order, for any value and masks', () => {
    const mask = fc.integer({ min: 0, max: 2 ** 30 - 1 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 15 - 1 }), mask, mask, (value, first, second) => {
        const sequential = applyPatch({ v: value }, [
          { op: '@bit', path: '/v', value: first },
          { op: '@bit', path: '/v', value: second },
        ]);
        const combined = applyPatch({ v: value }, [{ op: '@bit', path: '/v', value: combineBitmasks(first, second) }]);
        expect(combined).toEqual(sequential);
      }),
      RUNS,
    );
  });
});

describe('consolidateFieldOp', () => {
  describe('delta ops', () => {
    it('should sum two @inc whatever their timestamps, keeping the newer ts', () => {
      expect(consolidateFieldOp({ op: '@inc', path: '/n', value: 2, ts: 9 }, { op: '@inc', path: '/n', value: 3, ts: 5 })).toEqual({
        op: '@inc',
        path: '/n',
        value: 5,
        ts: 9,
      });
    });

    it('should combine @bit masks, and keep @max/@min extremes', () => {
      expect(consolidateFieldOp({ op: '@bit', path: '/f', value: bit(1, true), ts: 1 }, { op: '@bit', path: '/f', value: bit(1, false), ts: 2 })).toEqual({
        op: '@bit',
        path: '/f',
        value: bit(1, false),
        ts: 2,
      });
      expect(consolidateFieldOp({ op: '@max', path: '/m', value: 3, ts: 1 }, { op: '@max', path: '/m', value: 8, ts: 2 })?.value).toBe(8);
      expect(consolidateFieldOp({ op: '@min', path: '/m', value: 3, ts: 1 }, { op: '@min', path: '/m', value: 1, ts: 2 })?.value).toBe(1);
      expect(consolidateFieldOp({ op: '@max', path: '/d', value: '2024-01-01', ts: 1 }, { op: '@max', path: '/d', value: '2025-01-01', ts: 2 })?.value).toBe('2025-01-01');
    });

    it('should return null when the combined value equals the stored one', () => {
      expect(consolidateFieldOp({ op: '@max', path: '/m', value: 8, ts: 1 }, { op: '@max', path: '/m', value: 3, ts: 2 })).toBeNull();
      expect(consolidateFieldOp({ op: 'replace', path: '/m', value: 1, ts: 1 }, { op: '@min', path: '/m', value: 4, ts: 2 })).toBeNull();
      expect(consolidateFieldOp({ op: '@inc', path: '/n', value: 2, ts: 1 }, { op: '@inc', path: '/n', value: 0, ts: 2 })).toBeNull();
    });

    it('should apply the delta to a stored value and keep the stored op type', () => {
      expect(consolidateFieldOp({ op: 'replace', path: '/n', value: 10, ts: 1 }, { op: '@inc', path: '/n', value: 1, ts: 2 })).toEqual({
        op: 'replace',
        path: '/n',
        value: 11,
        ts: 2,
      });
      expect(consolidateFieldOp({ op: 'add', path: '/n', value: 10, ts: 1 }, { op: '@inc', path: '/n', value: 1, ts: 2 })?.op).toBe('add');
      // Different delta kinds: the anchor's rule (apply to the stored operand, keep its type).
      expect(consolidateFieldOp({ op: '@inc', path: '/n', value: 3, ts: 1 }, { op: '@max', path: '/n', value: 5, ts: 2 })).toEqual({
        op: '@inc',
        path: '/n',
        value: 5,
        ts: 2,
      });
    });

    it('should restart a delta on a removed field from a fresh base, as a replace', () => {
      const removed: JSONPatchOp = { op: 'remove', path: '/n', ts: 1 };
      expect(consolidateFieldOp(removed, { op: '@inc', path: '/n', value: 4, ts: 2 })).toEqual({ op: 'replace', path: '/n', value: 4, ts: 2 });
      expect(consolidateFieldOp(removed, { op: '@bit', path: '/n', value: bit(3, true), ts: 2 })?.value).toBe(8);
      expect(consolidateFieldOp(removed, { op: '@max', path: '/n', value: -5, ts: 2 })?.value).toBe(-5);
      expect(consolidateFieldOp(removed, { op: '@min', path: '/n', value: 5, ts: 2 })?.value).toBe(5);
      expect(consolidateFieldOp({ op: 'move', path: '/n', from: '/x' }, { op: '@inc', path: '/n', value: 1 })).toEqual({ op: 'replace', path: '/n', value: 1 });
    });

    it('should take the newer ts even when only one op has one, and omit ts when neither has', () => {
      expect(consolidateFieldOp({ op: '@inc', path: '/n', value: 1 }, { op: '@inc', path: '/n', value: 1, ts: 4 })?.ts).toBe(4);
      expect(consolidateFieldOp({ op: '@inc', path: '/n', value: 1, ts: 4 }, { op: '@inc', path: '/n', value: 1 })?.ts).toBe(4);
      expect(consolidateFieldOp({ op: '@inc', path: '/n', value: 1 }, { op: '@inc', path: '/n', value: 1 })).not.toHaveProperty('ts');
    });

    it('should drop a delta whose operand could never apply', () => {
      expect(consolidateFieldOp(undefined, { op: '@inc', path: '/n', value: '1' })).toBeNull();
      expect(consolidateFieldOp({ op: 'replace', path: '/n', value: 'text' }, { op: '@inc', path: '/n', value: 1 })).toBeNull();
      expect(consolidateFieldOp(undefined, { op: '@max', path: '/n', value: { a: 1 } })).toBeNull();
    });

    it('should return a lone delta unchanged when nothing is stored', () => {
      const op: JSONPatchOp = { op: '@inc', path: '/n', value: 1, ts: 3 };
      expect(consolidateFieldOp(undefined, op)).toBe(op);
    });
  });

  describe('soft writes', () => {
    it('should never overwrite a stored write', () => {
      expect(consolidateFieldOp({ op: 'replace', path: '/a', value: 1, ts: 1 }, { op: 'replace', path: '/a', value: 2, ts: 9, soft: true })).toBeNull();
      expect(consolidateFieldOp({ op: 'replace', path: '/a', value: { x: 1 }, ts: 1 }, { op: 'add', path: '/a', value: {}, ts: 9 })).toBeNull();
    });

    // Found in review, fixed: `delete d.tags` then `d.tags = {}` kept the removal, while the editor showed {}.
    it('should take a removed path as a hard write when it is not older than the removal', () => {
      const removed: JSONPatchOp = { op: 'remove', path: '/a', ts: 5 };
      expect(consolidateFieldOp(removed, { op: 'add', path: '/a', value: {}, ts: 9 })).toEqual({ op: 'replace', path: '/a', value: {}, ts: 9 });
      expect(consolidateFieldOp(removed, { op: 'replace', path: '/a', value: 1, ts: 5, soft: true })).toEqual({ op: 'replace', path: '/a', value: 1, ts: 5 });
      expect(consolidateFieldOp(removed, { op: 'add', path: '/a', value: [], ts: 4 })).toBeNull();
      // The same pair delivered the other way round ends the same: the newer one stands.
      expect(consolidateFieldOp({ op: 'add', path: '/a', value: {}, ts: 9 }, removed)).toBeNull();
      expect(consolidateFieldOp({ op: 'add', path: '/a', value: [], ts: 4 }, removed)).toBe(removed);
      const saved = consolidateOps([removed, { op: 'replace', path: '/b', value: 1, ts: 1 }], [{ op: 'add', path: '/a', value: {}, ts: 9 }, { op: 'add', path: '/a/x', value: 1, ts: 9 }]);
      expect(saved.opsToSave).toEqual([{ op: 'replace', path: '/a', value: {}, ts: 9 }, { op: 'add', path: '/a/x', value: 1, ts: 9 }]);
    });

    it('should be stored when nothing is there', () => {
      const op: JSONPatchOp = { op: 'add', path: '/a', value: {}, ts: 1 };
      expect(consolidateFieldOp(undefined, op)).toBe(op);
    });

    // Found in review: the older of two soft writes took the row, but went out as the soft write
    // it is, skipped by every client holding the newer (LWWDocService.spec "two soft writes meet").
    it('should keep a stored soft write against another, whatever their times (the anchor\'s rule)', () => {
      const older: JSONPatchOp = { op: 'replace', path: '/a', value: 'older', ts: 1, soft: true };
      const newer: JSONPatchOp = { op: 'replace', path: '/a', value: 'newer', ts: 2, soft: true };
      expect(consolidateFieldOp(newer, older)).toBeNull();
      expect(consolidateFieldOp(older, newer)).toBeNull();
      expect(consolidateFieldOp({ ...older, ts: 2 }, newer)).toBeNull();
    });

    it('should lose to any hard write, even an older one', () => {
      const hard: JSONPatchOp = { op: 'replace', path: '/a', value: 'hard', ts: 1 };
      expect(consolidateFieldOp({ op: 'replace', path: '/a', value: 'soft', ts: 5, soft: true }, hard)).toBe(hard);
    });
  });

  describe('the timestamp rule', () => {
    const write = (ts: number | undefined, value: string): JSONPatchOp => (ts === undefined ? { op: 'replace', path: '/t', value } : { op: 'replace', path: '/t', value, ts });

    it('should keep a strictly newer stored write', () => {
      expect(consolidateFieldOp(write(5, 'stored'), write(4, 'incoming'))).toBeNull();
    });

    it('should give ties and newer writes to the incoming op', () => {
      const tie = write(5, 'incoming');
      expect(consolidateFieldOp(write(5, 'stored'), tie)).toBe(tie);
      const newer = write(6, 'incoming');
      expect(consolidateFieldOp(write(5, 'stored'), newer)).toBe(newer);
    });

    it('should let an incoming op without ts win, and a stored op without ts beat a timed one', () => {
      const untimed = write(undefined, 'incoming');
      expect(consolidateFieldOp(write(5, 'stored'), untimed)).toBe(untimed);
      expect(consolidateFieldOp(write(undefined, 'stored'), untimed)).toBe(untimed);
      expect(consolidateFieldOp(write(undefined, 'stored'), write(5, 'incoming'))).toBeNull();
    });

    it('should treat remove like any write', () => {
      const remove: JSONPatchOp = { op: 'remove', path: '/t', ts: 7 };
      expect(consolidateFieldOp(write(5, 'stored'), remove)).toBe(remove);
      expect(consolidateFieldOp(write(9, 'stored'), remove)).toBeNull();
    });
  });
});

describe('consolidateOps', () => {
  const replace = (path: string, value: unknown, ts?: number): JSONPatchOp => (ts === undefined ? { op: 'replace', path, value } : { op: 'replace', path, value, ts });

  it('should store a new op with nothing to consolidate', () => {
    const op = replace('/a', 1, 1);
    expect(consolidateOps([], [op])).toEqual({ opsToSave: [op], pathsToDelete: [], opsToReturn: [] });
  });

  it('should feed winners to later ops of the same batch: two @inc sum', () => {
    const result = consolidateOps([], [
      { op: '@inc', path: '/n', value: 2, ts: 1 },
      { op: '@inc', path: '/n', value: 3, ts: 1 },
    ]);
    expect(result.opsToSave).toEqual([{ op: '@inc', path: '/n', value: 5, ts: 1 }]);
  });

  it('should apply a delta to a write made earlier in the same batch', () => {
    const result = consolidateOps([], [replace('/n', 10, 1), { op: '@inc', path: '/n', value: 1, ts: 1 }]);
    expect(result.opsToSave).toEqual([replace('/n', 11, 1)]);
  });

  it('should combine with the stored op and save one op per path', () => {
    const result = consolidateOps([{ op: '@inc', path: '/n', value: 1, ts: 1 }], [{ op: '@inc', path: '/n', value: 1, ts: 2 }]);
    expect(result).toEqual({ opsToSave: [{ op: '@inc', path: '/n', value: 2, ts: 2 }], pathsToDelete: [], opsToReturn: [] });
  });

  it('should let a parent write supersede the stored children', () => {
    const existing = frozen([replace('/p/a', 1, 1), replace('/p/b/c', 2, 1), replace('/q', 3, 1)]);
    const result = consolidateOps(existing, [replace('/p', { z: 1 }, 2)]);
    expect(result.opsToSave).toEqual([replace('/p', { z: 1 }, 2)]);
    expect(result.pathsToDelete.sort()).toEqual(['/p/a', '/p/b/c']);
    expect(result.opsToReturn).toEqual([]);
  });

  it('should not list a child written earlier in the batch: it was never stored', () => {
    const result = consolidateOps([], [replace('/p/a', 1, 1), replace('/p', {}, 1)]);
    expect(result).toEqual({ opsToSave: [replace('/p', {}, 1)], pathsToDelete: [], opsToReturn: [] });
  });

  it('should keep a stored child strictly newer than a late parent write, saved again after it', () => {
    const child = replace('/p/a', 'newer', 9);
    const result = consolidateOps([child, replace('/p/b', 'older', 1)], [replace('/p', { a: 'old', b: 'old' }, 5)]);
    expect(result.opsToSave).toEqual([replace('/p', { a: 'old', b: 'old' }, 5), child]);
    expect(result.pathsToDelete).toEqual(['/p/b']);
  });

  it('should save surviving children parents first whatever order they were stored in', () => {
    const result = consolidateOps([replace('/p/a/b', 2, 9), replace('/p/a', { b: 1 }, 8)], [replace('/p', {}, 5)]);
    expect(result.opsToSave.map((op) => op.path)).toEqual(['/p', '/p/a', '/p/a/b']);
  });

  it('should let a tie go to the parent write arriving later', () => {
    const result = consolidateOps([replace('/p/a', 1, 5)], [replace('/p', {}, 5)]);
    expect(result.pathsToDelete).toEqual(['/p/a']);
  });

  it('should reject a write under a primitive ancestor and return that ancestor as a correction', () => {
    const parent = replace('/p', 5, 1);
    const result = consolidateOps([parent], [replace('/p/a', 1, 2)]);
    expect(result).toEqual({ opsToSave: [], pathsToDelete: [], opsToReturn: [parent] });
  });

  it('should reject a write under a delta ancestor (a number) too', () => {
    const parent: JSONPatchOp = { op: '@inc', path: '/p', value: 1, ts: 1 };
    expect(consolidateOps([parent], [replace('/p/a', 1, 2)]).opsToReturn).toEqual([parent]);
  });

  it('should reject a write older than an ancestor write that replaced its subtree', () => {
    const parent = replace('/p', { a: 'new' }, 9);
    const result = consolidateOps([parent], [replace('/p/a', 'old', 3)]);
    expect(result).toEqual({ opsToSave: [], pathsToDelete: [], opsToReturn: [parent] });
  });

  it('should accept a child at least as new as its object ancestor', () => {
    const result = consolidateOps([replace('/p', { a: 1 }, 3)], [replace('/p/b', 2, 3)]);
    expect(result.opsToSave).toEqual([replace('/p/b', 2, 3)]);
  });

  it('should keep a removed ancestor when a newer child recreates the parent', () => {
    const removed: JSONPatchOp = { op: 'remove', path: '/p', ts: 1 };
    const result = consolidateOps([removed], [replace('/p/a', 1, 2)]);
    expect(result).toEqual({ opsToSave: [replace('/p/a', 1, 2)], pathsToDelete: [], opsToReturn: [] });
  });

  it('should return the stored op when a plain write loses, and nothing when a delta or soft op does', () => {
    const stored = replace('/a', 'stored', 9);
    expect(consolidateOps([stored], [replace('/a', 'late', 1)]).opsToReturn).toEqual([stored]);
    expect(consolidateOps([stored], [{ op: 'replace', path: '/a', value: 'x', soft: true, ts: 10 }]).opsToReturn).toEqual([]);
    expect(consolidateOps([replace('/m', 9, 1)], [{ op: '@max', path: '/m', value: 1, ts: 2 }]).opsToReturn).toEqual([]);
  });

  it('should return the final stored op as a correction when the batch changed it afterwards', () => {
    const result = consolidateOps([replace('/p', 5, 1)], [replace('/p/a', 1, 2), replace('/p', { b: 1 }, 2)]);
    expect(result.opsToReturn).toEqual([replace('/p', { b: 1 }, 2)]);
    expect(result.opsToSave).toEqual([replace('/p', { b: 1 }, 2)]);
  });

  it('should drop a correction whose path a later parent write removed', () => {
    const result = consolidateOps([replace('/p/a', 5, 1)], [replace('/p/a/x', 1, 2), replace('/p', {}, 3)]);
    expect(result.opsToReturn).toEqual([]);
    expect(result.pathsToDelete).toEqual(['/p/a']);
  });

  it('should skip a soft write when a descendant is stored', () => {
    const result = consolidateOps([replace('/tags/a', true, 1)], [{ op: 'add', path: '/tags', value: {}, ts: 2 }]);
    expect(result).toEqual({ opsToSave: [], pathsToDelete: [], opsToReturn: [] });
  });

  it('should not count a stored remove below a soft write as data', () => {
    const soft: JSONPatchOp = { op: 'add', path: '/tags', value: {}, ts: 2 };
    expect(consolidateOps([{ op: 'remove', path: '/tags/a', ts: 1 }], [soft]).opsToSave).toEqual([soft]);
  });

  it('should skip a soft write when an ancestor value already holds the path', () => {
    const result = consolidateOps([replace('/p', { tags: { a: true } }, 1)], [{ op: 'add', path: '/p/tags', value: {}, ts: 2 }]);
    expect(result.opsToSave).toEqual([]);
  });

  it('should save a soft write when the ancestor value lacks the path', () => {
    const soft: JSONPatchOp = { op: 'add', path: '/p/tags', value: {}, ts: 2 };
    expect(consolidateOps([replace('/p', { other: 1 }, 1)], [soft]).opsToSave).toEqual([soft]);
    expect(consolidateOps([{ op: 'remove', path: '/p', ts: 1 }], [soft]).opsToSave).toEqual([soft]);
  });

  it('should not let a soft write replace a stored one or delete its children', () => {
    const older: JSONPatchOp = { op: 'replace', path: '/p', value: {}, soft: true, ts: 1 };
    const result = consolidateOps([{ op: 'replace', path: '/p', value: {}, soft: true, ts: 5 }, replace('/p/a', 1, 6)], [older]);
    expect(result).toEqual({ opsToSave: [], pathsToDelete: [], opsToReturn: [] });
  });

  it('should compute a delta under a stored ancestor from the value that ancestor holds', () => {
    expect(consolidateOps([replace('/p', { n: 5 }, 1)], [{ op: '@inc', path: '/p/n', value: 1, ts: 2 }]).opsToSave).toEqual([replace('/p/n', 6, 2)]);
    expect(consolidateOps([replace('/p', {}, 1)], [{ op: '@inc', path: '/p/n', value: 1, ts: 2 }]).opsToSave).toEqual([replace('/p/n', 1, 2)]);
    expect(consolidateOps([replace('/p', { n: 9 }, 1)], [{ op: '@max', path: '/p/n', value: 3, ts: 2 }]).opsToSave).toEqual([]);
  });

  it('should let a root write supersede everything', () => {
    const result = consolidateOps([replace('/a', 1, 1), replace('/b/c', 2, 1)], [replace('', { a: 2 }, 2)]);
    expect(result.opsToSave).toEqual([replace('', { a: 2 }, 2)]);
    expect(result.pathsToDelete.sort()).toEqual(['/a', '/b/c']);
  });

  it('should never list a path both to save and to delete', () => {
    const result = consolidateOps([replace('/p/a', 1, 1)], [replace('/p', {}, 2), replace('/p/a', 3, 2)]);
    expect(result.opsToSave).toEqual([replace('/p', {}, 2), replace('/p/a', 3, 2)]);
    expect(result.pathsToDelete).toEqual([]);
  });

  it('should not mutate its inputs', () => {
    const existing = frozen([replace('/n', 1, 1), { op: '@inc', path: '/c', value: 1, ts: 1 }]);
    const incoming = frozen([{ op: '@inc', path: '/c', value: 2, ts: 2 }, replace('/n', 2, 2)]);
    expect(() => consolidateOps(existing, incoming)).not.toThrow();
    expect(existing[1]).toEqual({ op: '@inc', path: '/c', value: 1, ts: 1 });
  });
});

describe('convertDeltaOps', () => {
  it('should turn deltas into replace with the value on a fresh base', () => {
    expect(
      convertDeltaOps([
        { op: '@inc', path: '/a', value: 2, ts: 5, rev: 3 },
        { op: '@bit', path: '/b', value: bit(1, true) | bit(2, false) },
        { op: '@max', path: '/c', value: 4 },
        { op: '@min', path: '/d', value: 4 },
        { op: '@min', path: '/e', value: 'b' },
      ]),
    ).toEqual([
      { op: 'replace', path: '/a', value: 2, ts: 5, rev: 3 },
      { op: 'replace', path: '/b', value: 2 },
      { op: 'replace', path: '/c', value: 4 },
      { op: 'replace', path: '/d', value: 4 },
      { op: 'replace', path: '/e', value: 'b' },
    ]);
  });

  it('should turn every other non-remove op into a replace of its value, keeping extra fields', () => {
    expect(convertDeltaOps([{ op: 'add', path: '/a', value: 'x', ts: 1, extra: true }])).toEqual([{ op: 'replace', path: '/a', value: 'x', ts: 1, extra: true }]);
    expect(convertDeltaOps([{ op: '@txt', path: '/t', value: [{ insert: 'a' }] }])).toEqual([{ op: 'replace', path: '/t', value: [{ insert: 'a' }] }]);
  });

  it('should keep remove and replace as they are', () => {
    const ops: JSONPatchOp[] = [{ op: 'remove', path: '/a', ts: 1 }, { op: 'replace', path: '/b', value: 1 }];
    const converted = convertDeltaOps(ops);
    expect(converted[0]).toBe(ops[0]);
    expect(converted[1]).toBe(ops[1]);
  });

  it('should keep a soft write soft, also an implicitly soft empty-container add', () => {
    expect(convertDeltaOps([{ op: 'add', path: '/a', value: {} }])).toEqual([{ op: 'replace', path: '/a', value: {}, soft: true }]);
    expect(convertDeltaOps([{ op: 'add', path: '/a', value: 1, soft: true }])).toEqual([{ op: 'replace', path: '/a', value: 1, soft: true }]);
  });

  it('should store what applying the original op to a missing field gives', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('@inc'), path: fc.constant('/v'), value: fc.integer() }),
      fc.record({ op: fc.constant('@bit'), path: fc.constant('/v'), value: fc.integer({ min: 0, max: 2 ** 30 - 1 }) }),
      fc.record({ op: fc.constantFrom('@max', '@min'), path: fc.constant('/v'), value: fc.oneof(fc.integer(), fc.string()) }),
      fc.record({ op: fc.constantFrom('add', 'replace'), path: fc.constant('/v'), value: fc.jsonValue() }),
    );
    fc.assert(
      fc.property(op, (original) => {
        const [converted] = convertDeltaOps([original]);
        expect(['replace', 'remove']).toContain(converted.op);
        expect(applyPatch({}, [converted])).toEqual(applyPatch({}, [original]));
      }),
      RUNS,
    );
  });
});
