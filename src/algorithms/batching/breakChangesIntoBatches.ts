import type { Change, SizeCalculator } from '../../types.js';
import { breakChanges, type BreakChangesOptions } from './breakChanges.js';
import { sizeOf } from './sizeOf.js';

/**
 * Default wire budget per `commitChanges` call: 1 MB of JSON, the anchor's default, which its
 * servers' frame limits are sized for.
 *
 * @example
 * breakChangesIntoBatches(pending, { maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES / 2 });
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1_000_000;

/** Options of `breakChangesIntoBatches`. */
export interface BreakChangesIntoBatchesOptions {
  /** Wire budget per batch: UTF-8 bytes of the JSON array of changes. Default 1 000 000. */
  maxPayloadBytes?: number | undefined;
  /** Storage budget per change, measured with `sizeCalculator`; unset = no storage split. */
  maxStorageBytes?: number | undefined;
  /** Storage measure (e.g. compressed size); default `sizeOf`. The wire is always raw JSON. */
  sizeCalculator?: SizeCalculator | undefined;
  /** The document, named in an `UnsplittableChangeError`. */
  docId?: string | undefined;
  /**
   * A change holding an unsplittable op is sent alone up to this many wire bytes; above, it
   * throws. Default `maxPayloadBytes - 2` (room for the brackets): what the wire cannot carry is
   * an error, never sent or dropped.
   */
  maxUnsplittableBytes?: number | undefined;
  /** See `BreakChangesOptions.fillArrays` (true for LWW changes). */
  fillArrays?: boolean | undefined;
  /**
   * See `BreakChangesOptions.keepWhole`, asked for each cut (`'storage'`, then `'wire'`): a change
   * kept whole for the wire goes alone in its batch when it is over the wire budget.
   */
  keepWhole?: ((change: Change, cut: 'storage' | 'wire') => boolean) | undefined;
  /**
   * See `BreakChangesOptions.pieceIds` (`'derived'` for LWW changes), for the storage cut; the
   * wire cut, whose budget never shrinks, takes `'derivedFirst'` as `'derived'`.
   */
  pieceIds?: BreakChangesOptions['pieceIds'];
}

/**
 * Cuts a pending queue into wire batches, one `commitChanges` call each (protocol §4.6).
 *
 * Why: a flush after a long offline session can hold megabytes; the server caps a frame. So:
 * 1. with `maxStorageBytes`, changes over the storage budget are split first (`breakChanges`
 *    with `sizeCalculator`); an unsplittable op over it is kept whole here and judged by the
 *    wire budget below (the server answers 413 if its store refuses it);
 * 2. if the whole array fits `maxPayloadBytes`, it is one batch, unchanged, without `batchId`;
 * 3. otherwise every change gets `batchId` = the id of the ORIGINAL queue head, so the server
 *    recognises the batches of one upload, and a retry of the same queue yields the same
 *    `batchId`;
 * 4. changes over the wire budget are split (`breakChanges` on raw JSON; pieces of one change
 *    may land in different batches);
 * 5. changes are packed greedily in order: brackets, commas and each change's JSON counted;
 *    a new batch starts when the next change would not fit. Every batch's JSON is at most
 *    `maxPayloadBytes` (unless `maxUnsplittableBytes` allowed more).
 *
 * The caller must persist exactly what is sent: if splitting changed the changes (count or
 * revs), replace the stored pending queue with `batches.flat()` before sending, so echoes and
 * retries match by id. Split pieces get fresh random ids (`createId`), so re-splitting the
 * unsplit queue would give other ids: re-read the stored pieces on retry instead, or name them
 * after their content (`pieceIds`: LWW, whose store keeps the change whole).
 *
 * Differences from the anchor: an empty queue gives no batch (nothing to send) rather than one
 * empty batch; "fits" means ≤ the budget everywhere (the anchor's single-batch test is `<`);
 * an unsplittable op over `maxPayloadBytes` throws `UnsplittableChangeError` instead of being
 * sent anyway; the anchor mints a random batchId, the protocol (and we) use the head's id.
 *
 * @param changes The pending queue, in order.
 * @param options Budgets, storage measure and doc id.
 * @returns Batches in send order; their concatenation is the (possibly split) queue.
 * @throws UnsplittableChangeError when an op cannot be split to fit the wire budget.
 * @example
 * const batches = breakChangesIntoBatches(pending, { maxPayloadBytes: 500_000, docId });
 * for (const batch of batches) await rpc.commitChanges(docId, batch);
 */
export function breakChangesIntoBatches(changes: Change[], options: BreakChangesIntoBatchesOptions = {}): Change[][] {
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!(maxPayloadBytes > 0)) throw new RangeError(`maxPayloadBytes must be a positive number, got ${maxPayloadBytes}`);
  if (changes.length === 0) return [];
  const { maxStorageBytes, sizeCalculator, docId, fillArrays, keepWhole, pieceIds } = options;

  let queue = changes;
  if (maxStorageBytes !== undefined) {
    queue = breakChanges(queue, maxStorageBytes, { sizeCalculator, docId, maxUnsplittableBytes: Infinity, fillArrays, keepWhole: keepWhole && (change => keepWhole(change, 'storage')), pieceIds });
  }
  if (sizeOf(queue) <= maxPayloadBytes) return [queue];

  const batchId = changes[0].id;
  const labelled = queue.map((change) => ({ ...change, batchId }));
  // A change alone in a batch still needs its brackets: budget 2 bytes less per change.
  const perChange = maxPayloadBytes - 2;
  const items = breakChanges(labelled, perChange, { docId, maxUnsplittableBytes: options.maxUnsplittableBytes ?? perChange, fillArrays, keepWhole: keepWhole && (change => keepWhole(change, 'wire')), pieceIds: pieceIds === 'derivedFirst' ? 'derived' : pieceIds });

  const batches: Change[][] = [];
  let batch: Change[] = [];
  let size = 2; // the brackets
  for (const item of items) {
    const itemSize = sizeOf(item);
    if (batch.length > 0 && size + 1 + itemSize > maxPayloadBytes) {
      batches.push(batch);
      batch = [];
      size = 2;
    }
    size += itemSize + (batch.length > 0 ? 1 : 0);
    batch.push(item);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
