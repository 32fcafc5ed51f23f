import { StoreError } from '../../errors.js';
import { errorName } from '../../util/errorName.js';

/**
 * `append` lost a race: another server process sharing the store committed that rev (or that
 * change id) first, or deleted the document. Nothing was written. The document service reads
 * what it missed, runs its transform again on top of it and retries the commit; only a store
 * shared by several processes (PostgreSQL) ever raises it.
 */
export class RevConflictError extends StoreError {
  override name = errorName(this, RevConflictError, 'RevConflictError');
  constructor(
    docId: string,
    /** The first rev the refused entry held. */
    readonly rev: number,
    options?: { cause?: unknown },
  ) {
    super(`Rev ${rev} of document "${docId}" was committed by another process first`, docId, options);
  }
}
