import fc from 'fast-check';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { breakChangesIntoBatches, DEFAULT_MAX_PAYLOAD_BYTES } from '../../../src/algorithms/batching/breakChangesIntoBatches.js';
import { sizeOf } from '../../../src/algorithms/batching/sizeOf.js';
import { UnsplittableChangeError } from '../../../src/errors.js';
import type { Change, JSONPatchOp, SizeCalculator } from '../../../src/types.js';
import { enableRichText } from '../../../src/txt/enableRichText.js';

function change(i: number, ops: JSONPatchOp[], fields: Partial<Change> = {}): Change {
  // Revs with a fixed number of digits, so equal ops make equal-sized changes.
  return { id: `chg${String(i).padStart(9, '0')}`, ops, baseRev: 99, rev: 100 + i, createdAt: 1700000000000 + i, committedAt: 0, ...fields };
}

function queueOf(count: number, valueBytes: number): Change[] {
  return Array.from({ length: count }, (_, i) => change(i, [{ op: 'replace', path: `/k${i}`, value: 'v'.repeat(valueBytes) }]));
}

const applyAll = (changes: Change[]): unknown => changes.reduce<unknown>((doc, c) => applyPatch(doc, c.ops), {});

function expectBatchInvariants(input: Change[], batches: Change[][], maxPayloadBytes: number): void {
  const flat = batches.flat();
  for (const batch of batches) {
    expect(batch.length).toBeGreaterThan(0);
    expect(sizeOf(batch)).toBeLessThanOrEqual(maxPayloadBytes);
  }
  flat.forEach((c, i) => expect(c.rev).toBe(input[0].rev + i));
  expect(flat[0].id).toBe(input[0].id);
  if (batches.length > 1) for (const c of flat) expect(c.batchId).toBe(input[0].id);
  else for (const c of flat) expect(c.batchId).toBe(input.find((o) => o.id === c.id)?.batchId);
  expect(applyAll(flat)).toEqual(applyAll(input));
}

// @txt goes through quill-delta once enabled, as in an app (`patches-rx/txt`).
beforeAll(enableRichText);

describe('breakChangesIntoBatches', () => {
  it('should send nothing for an empty queue', () => {
    expect(breakChangesIntoBatches([])).toEqual([]);
  });

  it('should return one batch, unchanged and without batchId, when the queue fits', () => {
    const queue = queueOf(3, 20);
    const batches = breakChangesIntoBatches(queue, { maxPayloadBytes: sizeOf(queue) + 1 });
    expect(batches).toHaveLength(1);
    expect(batches[0]).toBe(queue);
  });

  it('should still use one batch when the queue is exactly at the limit', () => {
    const queue = queueOf(3, 20);
    expect(breakChangesIntoBatches(queue, { maxPayloadBytes: sizeOf(queue) })).toEqual([queue]);
  });

  it('should split a queue one byte over the limit, labelling every change with the head id', () => {
    const queue = queueOf(3, 20);
    const max = sizeOf(queue) - 1;
    const batches = breakChangesIntoBatches(queue, { maxPayloadBytes: max });
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat().map((c) => c.id)).toEqual(queue.map((c) => c.id));
    expectBatchInvariants(queue, batches, max);
  });

  it('should count brackets and commas: a batch never exceeds the budget', () => {
    const queue = queueOf(10, 30);
    const one = sizeOf({ ...queue[0], batchId: queue[0].id });
    // Room for exactly two changes: [a,b] = 2 + 2 * one + 1 bytes.
    const batches = breakChangesIntoBatches(queue, { maxPayloadBytes: 2 + 2 * one + 1 });
    expect(batches.map((b) => b.length)).toEqual([2, 2, 2, 2, 2]);
    expect(breakChangesIntoBatches(queue, { maxPayloadBytes: 2 + 2 * one }).map((b) => b.length)).toEqual(Array(10).fill(1));
  });

  it('should produce the same batchIds on a retry of the same queue', () => {
    const queue = queueOf(6, 100);
    const first = breakChangesIntoBatches(queue, { maxPayloadBytes: 400 });
    const retry = breakChangesIntoBatches(queue, { maxPayloadBytes: 400 });
    expect(first.flat().map((c) => c.batchId)).toEqual(retry.flat().map((c) => c.batchId));
    expect(new Set(first.flat().map((c) => c.batchId))).toEqual(new Set([queue[0].id]));
  });

  it('should relabel changes that carried an old batchId', () => {
    const queue = queueOf(6, 100).map((c) => ({ ...c, batchId: 'stale0000000' }));
    for (const c of breakChangesIntoBatches(queue, { maxPayloadBytes: 400 }).flat()) expect(c.batchId).toBe(queue[0].id);
  });

  it('should split a change over the wire budget, its pieces possibly in different batches', () => {
    const big = change(0, Array.from({ length: 8 }, (_, i) => ({ op: 'replace', path: `/p${i}`, value: 'x'.repeat(80) })));
    const queue = [big, change(1, [{ op: 'replace', path: '/after', value: 1 }])];
    const batches = breakChangesIntoBatches(queue, { maxPayloadBytes: 500 });
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat().length).toBeGreaterThan(2);
    expectBatchInvariants(queue, batches, 500);
  });

  it('should split by the storage budget with the size calculator, even when the wire would fit', () => {
    const c = change(0, Array.from({ length: 5 }, (_, i) => ({ op: 'replace', path: `/k${i}`, value: i })));
    const opCount: SizeCalculator = (data) => (data as Change).ops.length;
    const batches = breakChangesIntoBatches([c], { maxStorageBytes: 2, sizeCalculator: opCount });
    expect(batches).toHaveLength(1);
    expect(batches[0].map((p) => p.ops.length)).toEqual([2, 2, 1]);
    expect(batches[0].every((p) => p.batchId === undefined)).toBe(true);
    expectBatchInvariants([c], batches, DEFAULT_MAX_PAYLOAD_BYTES);
  });

  it('should keep an op unsplittable for storage whole when the wire can carry it', () => {
    const c = change(0, [{ op: 'replace', path: '/a', value: 'x'.repeat(300) }]);
    expect(breakChangesIntoBatches([c], { maxStorageBytes: 100, maxPayloadBytes: 10_000 })).toEqual([[c]]);
  });

  it('should throw UnsplittableChangeError for an op the wire cannot carry, naming the doc', () => {
    const c = change(0, [{ op: 'replace', path: '/a', value: 'x'.repeat(2000) }, { op: 'replace', path: '/b', value: 1 }]);
    expect(() => breakChangesIntoBatches([c], { maxPayloadBytes: 1000, docId: 'doc-3' })).toThrow(UnsplittableChangeError);
    expect(() => breakChangesIntoBatches([c], { maxPayloadBytes: 1000, docId: 'doc-3' })).toThrow(/doc-3/);
  });

  it('should send an unsplittable op alone when maxUnsplittableBytes allows it', () => {
    const c = change(0, [{ op: 'replace', path: '/a', value: 'x'.repeat(2000) }, { op: 'replace', path: '/b', value: 1 }]);
    const batches = breakChangesIntoBatches([c], { maxPayloadBytes: 1000, maxUnsplittableBytes: 5000 });
    expect(batches.map((b) => b.map((p) => p.ops))).toEqual([[[c.ops[0]]], [[c.ops[1]]]]);
  });

  it('should default to a 1 MB wire budget', () => {
    const queue = queueOf(12, 100_000);
    const batches = breakChangesIntoBatches(queue);
    expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(1_000_000);
    expect(batches.map((b) => b.length)).toEqual([9, 3]);
    for (const batch of batches) expect(sizeOf(batch)).toBeLessThanOrEqual(1_000_000);
  });

  it('should keep every batch within budget and the flattened queue equivalent, for any queue', () => {
    const op: fc.Arbitrary<JSONPatchOp> = fc.oneof(
      fc.tuple(fc.nat({ max: 5 }), fc.string({ unit: 'grapheme', maxLength: 60 })).map(([k, value]): JSONPatchOp => ({ op: 'replace', path: `/k${k}`, value })),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 20 }), { maxKeys: 12 }).map((value): JSONPatchOp => ({ op: 'replace', path: '/obj', value })),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }).map((text): JSONPatchOp => ({ op: '@txt', path: '/body', value: [{ insert: text }] })),
      fc.integer({ min: -5, max: 5 }).map((value): JSONPatchOp => ({ op: '@inc', path: '/n', value })),
    );
    const queue = fc.array(fc.array(op, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }).map((lists) => lists.map((ops, i) => change(i, ops)));
    const storage = fc.option(fc.integer({ min: 300, max: 800 }), { nil: undefined });
    const calculator = fc.constantFrom<SizeCalculator | undefined>(undefined, (data) => Math.ceil(sizeOf(data) * 0.8) + 12);
    fc.assert(
      fc.property(queue, fc.integer({ min: 420, max: 2000 }), storage, calculator, (changes, maxPayloadBytes, maxStorageBytes, sizeCalculator) => {
        const batches = breakChangesIntoBatches(changes, { maxPayloadBytes, maxStorageBytes, sizeCalculator, docId: 'prop' });
        expectBatchInvariants(changes, batches, maxPayloadBytes);
        if (maxStorageBytes !== undefined) {
          // Within the storage budget (measured before the wire label), unless one unsplittable op.
          for (const c of batches.flat()) {
            const stored = (sizeCalculator ?? sizeOf)({ ...c, batchId: undefined });
            if (stored > maxStorageBytes) expect(c.ops).toHaveLength(1);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  // A change that may be committed already travels whole under its id (see DocSync.pendingBatches).
  it('should cut no change keepWhole names, for storage nor for the wire (one over the wire budget goes alone), and cut the others', () => {
    const big = (i: number) => change(i, Array.from({ length: 4 }, (_, k) => ({ op: 'replace', path: `/k${i}_${k}`, value: 'v'.repeat(300) })));
    const queue = [big(0), big(1)];
    const batches = breakChangesIntoBatches(queue, { maxPayloadBytes: 1_000, maxStorageBytes: 700, keepWhole: c => c.id === queue[0].id });
    const pieces = batches.flat();
    expect(pieces[0]).toMatchObject({ id: queue[0].id, ops: queue[0].ops });
    expect(batches[0]).toHaveLength(1);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.slice(1).every(c => sizeOf(c) <= 700)).toBe(true);
    expect(applyAll(pieces)).toEqual(applyAll(queue));
  });
});
