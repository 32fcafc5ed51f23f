import { ServerRevisionRegressedError, StatusError } from '../errors.js';

/**
 * Whether an error may mean the server went back in time (restored from a backup, or it lost
 * data), so the client's committed rev is ahead of it: the client checks with `getDoc` before
 * acting on it.
 *
 * - 409 with `{ scope: 'doc' }`: a `baseRev` (or a `getChangesSince` rev) ahead of the server's
 *   head. Our server adds `headRev`, and answers a commit too far behind for its transform bound
 *   the same way (`headRev` at or after its base: `DocSync.refusedBase$` tells the two apart);
 *   the @dabble/patches server answers without it, and uses this code for other refusals too,
 *   hence the check.
 * - `ServerRevisionRegressedError`: a commit reply on a rev older than the change was sent on.
 *
 * @example
 * mayBeRevisionRegression(new StatusError(409, 'baseRev 9 is ahead of the document (rev 4)', { scope: 'doc', headRev: 4 })); // true
 */
export function mayBeRevisionRegression(error: unknown): boolean {
  if (error instanceof ServerRevisionRegressedError) return true;
  if (!(error instanceof StatusError) || error.code !== 409) return false;
  const data = error.data;
  return typeof data === 'object' && data !== null && (data as { scope?: unknown }).scope === 'doc';
}
