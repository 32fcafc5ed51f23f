import { map } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { breakChangesIntoBatches } from '../algorithms/batching/breakChangesIntoBatches.js';
import type { BreakChangesIntoBatchesOptions } from '../algorithms/batching/breakChangesIntoBatches.js';
import type { Change } from '../types.js';

/**
 * Options of `batchChanges`: exactly those of `breakChangesIntoBatches` — `maxPayloadBytes`
 * (wire budget per batch, default 1 000 000), `maxStorageBytes` (per-change storage budget),
 * `sizeCalculator` (storage measure), `docId` (named in errors) and `maxUnsplittableBytes`.
 */
export interface BatchChangesOptions extends BreakChangesIntoBatchesOptions {}

/**
 * Maps each pending queue of one document to the wire batches to send, one `commitChanges` each.
 *
 * It puts the pure `breakChangesIntoBatches` into a flush pipeline: every emitted queue becomes
 * one `Change[][]`. A queue that fits is one batch, unchanged; a larger one is split and packed,
 * every batch carrying `batchId` = the original queue head's id; an empty queue becomes `[]` (no
 * batch: nothing to send). The caller must store exactly `batches.flat()` as the pending queue
 * before sending when splitting changed it. An error from the algorithm — `UnsplittableChangeError`
 * when an op cannot be split to fit the budget, `RangeError` for a non-positive budget — is an
 * error notification of the output (catch it per doc to latch only that doc).
 *
 * ## Example
 * ```ts
 * import { of, concatMap, from } from 'rxjs';
 * import { batchChanges } from './operators/batchChanges.js';
 *
 * of(pendingChanges)
 *   .pipe(
 *     batchChanges({ maxPayloadBytes: 500_000, docId: 'doc1' }),
 *     concatMap((batches) => from(batches)),
 *   )
 *   .subscribe((batch) => console.log(`${batch.length} changes in this commitChanges`));
 * ```
 *
 * @param options Budgets, storage measure and doc id, passed to `breakChangesIntoBatches`.
 * @return A function that returns an Observable of the batches of each queue.
 */
export function batchChanges(options: BatchChangesOptions = {}): OperatorFunction<Change[], Change[][]> {
  return map((changes: Change[]) => breakChangesIntoBatches(changes, options));
}
