import type { Algorithm, Change, PatchesSnapshot } from '../types.js';
import type { ClientAlgorithm, InstallResult, RegressedRevs } from './ClientAlgorithm.js';
import type { OptimisticChange } from './PatchesDoc.js';

/**
 * A `ClientAlgorithm` whose implementation is loaded on first use.
 *
 * `Patches` keeps LWW behind one, loaded through a dynamic `import()`, so an app that never opens
 * an LWW doc never downloads that code: bundlers put a dynamic import in a chunk of its own. Every
 * method of the contract is async already, so callers see no difference; once loaded, calls go
 * straight through (no extra turn). A failed load rejects the calls waiting on it and the next
 * call tries again (a chunk request can fail like any other).
 *
 * @param name the algorithm's name, known before it is loaded
 * @param load resolves to the implementation; called once, or again after a failure
 * @example
 * const lww = lazyAlgorithm('lww', () => import('./LWWAlgorithm.js').then(m => new m.LWWAlgorithm(ctx)));
 */
export function lazyAlgorithm(name: Algorithm, load: () => Promise<ClientAlgorithm>): ClientAlgorithm {
  let loaded: ClientAlgorithm | undefined;
  let loading: Promise<ClientAlgorithm> | undefined;
  const ready = (): Promise<ClientAlgorithm> =>
    (loading ??= load().then(
      (algorithm) => (loaded = algorithm),
      (error: unknown) => {
        loading = undefined;
        throw error;
      },
    ));
  const via = <R>(call: (algorithm: ClientAlgorithm) => Promise<R>): Promise<R> => (loaded ? call(loaded) : ready().then(call));
  return {
    name,
    mint: (docId: string, change: OptimisticChange): Promise<Change[]> => via((a) => a.mint(docId, change)),
    hasPending: (docId: string): Promise<boolean> => via((a) => a.hasPending(docId)),
    getPendingToSend: (docId: string): Promise<Change[]> => via((a) => a.getPendingToSend(docId)),
    isQueued: (docId: string, changeId: string): Promise<boolean> => via((a) => a.isQueued(docId, changeId)),
    replacePending: (docId: string, changes: Change[], replaced?: Change[]): Promise<void> => via((a) => a.replacePending(docId, changes, replaced)),
    refresh: (docId: string): Promise<void> => via((a) => a.refresh(docId)),
    applyServerChanges: (docId: string, changes: Change[], sent?: Change[]): Promise<Change[]> => via((a) => a.applyServerChanges(docId, changes, sent)),
    installSnapshot: (docId: string, snapshot: PatchesSnapshot): Promise<InstallResult> => via((a) => a.installSnapshot(docId, snapshot)),
    rebaseOntoServer: (docId: string, snapshot: PatchesSnapshot): Promise<RegressedRevs | undefined> => via((a) => a.rebaseOntoServer(docId, snapshot)),
  };
}
