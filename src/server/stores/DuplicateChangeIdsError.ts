import { StoreError } from '../../errors.js';
import { errorName } from '../../util/errorName.js';

/**
 * `append` refused an OT entry holding change ids the document's log already has: a client
 * resent a change committed long before, whose id the server no longer held in memory. Nothing
 * was written. Only stores that say `uniqueChangeIds` raise it; the document service then knows
 * those changes as committed (at the revs given) and runs the commit again.
 */
export class DuplicateChangeIdsError extends StoreError {
  override name = errorName(this, DuplicateChangeIdsError, 'DuplicateChangeIdsError');
  constructor(
    docId: string,
    /** Each refused id that is committed, with the rev it is committed at. */
    readonly committed: ReadonlyMap<string, number>,
    options?: { cause?: unknown },
  ) {
    super(`Change ${[...committed.keys()].join(', ')} of document "${docId}" is committed already`, docId, options);
  }
}
