import type { Change, JSONPatchOp, SizeCalculator } from '../types.js';
import { StoreError } from '../errors.js';
import { createId } from '../algorithms/createId.js';
import type { KeyedQueue } from '../util/KeyedQueue.js';
import type { DocOwner, OptimisticChange, PatchesDoc } from './PatchesDoc.js';

/** What `EditSaves` saves through and tells, given by `Patches`. */
export interface EditSavesOptions {
  /** The docs' serial queues: a doc's saves run in its queue, one at a time, among its other store steps. */
  queue: KeyedQueue;
  /** Turns freshly recorded ops into the ops to keep (LWW stamps `ts` here). */
  prepareOps(doc: PatchesDoc<object>, ops: JSONPatchOp[]): JSONPatchOp[];
  /** Writes an edit to the store through the doc's algorithm: the changes saved (none when a server change rebased it away). */
  mint(doc: PatchesDoc<object>, change: OptimisticChange): Promise<Change[]>;
  /** An edit was saved as `changes`. */
  saved(docId: string, changes: Change[]): void;
  /** An edit was saved as nothing. */
  savedNothing(docId: string): void;
  /** A save failed: the edits rolled back, the failed one first. */
  failed(error: Error, docId: string, rolledBack: string[]): void;
}

/**
 * Saves the edits of the open docs (the `DocOwner` every `PatchesDoc` hands its changes to): each
 * in its doc's queue, announced once it is in the store. A save that fails is announced as nothing
 * half-written: the edit is taken back from the view before the doc's next save runs, with every
 * later edit made on a view that showed it (never saved, as they were recorded on it), and the
 * failure reported once naming them all. The app's own `sizeCalculator` failing while a change is
 * cut to size is reported as it is (the store did not fail); any other failure as a `StoreError`.
 *
 * @example
 * const saves = new EditSaves({ queue, prepareOps, mint, saved, savedNothing, failed });
 * const sizeCalculator = saves.noted(appSizeCalculator); // what minting measures with
 * new PatchesDoc(docId, algorithm, layers, saves);
 */
export class EditSaves implements DocOwner {
  /** What the app's `sizeCalculator` threw while a change was minted: reported as it is, not as a store failure. */
  private readonly calculatorErrors = new WeakSet<Error>();

  constructor(private readonly options: EditSavesOptions) {}

  newId(): string {
    return createId();
  }

  prepareOps(doc: PatchesDoc<object>, ops: JSONPatchOp[]): JSONPatchOp[] {
    return this.options.prepareOps(doc, ops);
  }

  submit(doc: PatchesDoc<object>, change: OptimisticChange): Promise<void> {
    let rolledBack: string[] = [];
    return this.options.queue
      .run(doc.id, async () => {
        // Made on a view that showed an earlier edit whose save failed: rolled back with it, never saved.
        if (doc._takeRolledBack(change.id)) return [];
        try {
          return await this.options.mint(doc, change);
        } catch (error) {
          // Taken back before the doc's next save runs, so no later edit is saved as recorded on
          // a view that showed this one: they are taken back with it (`PatchesDoc._rollback`).
          rolledBack = doc._rollback(change.id);
          throw error;
        }
      })
      .then(
        changes => {
          if (changes.length > 0) this.options.saved(doc.id, changes);
          else this.options.savedNothing(doc.id);
        },
        error => {
          // Nothing half-written is announced: the edits are taken back and the error reported (the
          // app's own sizeCalculator's as it is: the store did not fail), naming every edit taken back.
          const calculators = error instanceof Error && this.calculatorErrors.has(error);
          const later = rolledBack.length > 1 ? ` (and ${rolledBack.length - 1} later edit${rolledBack.length > 2 ? 's' : ''} made on it, rolled back with it)` : '';
          this.options.failed(calculators ? error : new StoreError(`Could not save a change to "${doc.id}"${later}`, doc.id, { cause: error }), doc.id, rolledBack);
        },
      );
  }

  /** The app's `sizeCalculator`, its failures noted so that a save they fail reports them as they are. */
  noted(sizeCalculator: SizeCalculator): SizeCalculator {
    return data => {
      try {
        return sizeCalculator(data);
      } catch (error) {
        if (error instanceof Error) this.calculatorErrors.add(error);
        throw error;
      }
    };
  }
}
