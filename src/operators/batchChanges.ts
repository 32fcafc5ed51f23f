import { map, type OperatorFunction } from 'rxjs';
import type { Change, SizeCalculator } from '../types.js';
import { breakChangesIntoBatches } from '../algorithms/breakChangesIntoBatches.js';

/** Limits of `batchChanges`. */
export interface BatchChangesOptions {
  /** Most bytes per `commitChanges` frame (default 1 000 000). */
  maxPayloadBytes?: number;
  /** Per-change storage limit: larger changes are split first. */
  maxStorageBytes?: number;
  /** Measures sizes (default: UTF-8 bytes of the JSON). */
  sizeCalculator?: SizeCalculator;
  /** The doc, named in the error when an op cannot be split. */
  docId?: string;
}

/**
 * Turns each list of a doc's pending changes into the wire batches to send, in order.
 *
 * A flush must never put more than `maxPayloadBytes` in one frame: changes are grouped into
 * batches under the limit, and a change larger than it is split into several (same `batchId`).
 * An op that cannot be split errors the stream with `UnsplittableChangeError` (nothing is dropped).
 *
 * ## Example
 * ```ts
 * of(pending).pipe(batchChanges({ maxPayloadBytes: 1_000_000, docId: 'notes' }))
 *   .subscribe(batches => batches.forEach(batch => send(batch)));
 * ```
 *
 * @param options The size limits and the doc id for errors.
 * @return An operator mapping `Change[]` to `Change[][]`.
 */
export function batchChanges(options: BatchChangesOptions = {}): OperatorFunction<Change[], Change[][]> {
  return map(changes => breakChangesIntoBatches(changes, options));
}
