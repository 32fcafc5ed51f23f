/**
 * What the demo shows for the sync state: pure functions, so the wording follows the seed's table
 * (`PatchesSync.md`, "Per-Document Save Indicator") in one place and a spec can pin it.
 */
import type { PatchesSyncState, SyncedDoc } from 'patches-rx';

/** What `trackedEntry` reads from a doc (a `PatchesDoc` has it). */
export interface DocRevision {
  committedRev: number;
  hasPending: boolean;
}

/**
 * The entry the seed's table gives a doc when it is tracked (`committedRev === 0 ? 'unsynced' :
 * 'synced'`), read from the open doc: PatchesSync adds docs that were already tracked in the store
 * only when it connects, so until then (and while the server is down) this stands in.
 */
export function trackedEntry(doc: DocRevision): SyncedDoc {
  return { committedRev: doc.committedRev, hasPending: doc.hasPending, status: doc.committedRev === 0 ? 'unsynced' : 'synced' };
}

/** The seed's per-document save indicator: Never synced / Saving… / Syncing… / Unsaved changes / All saved / Sync error. */
export function saveLabel(info: SyncedDoc): string {
  switch (info.status) {
    case 'unsynced':
      return 'Never synced';
    case 'syncing':
      return info.hasPending ? 'Saving…' : 'Syncing…';
    case 'synced':
      return info.hasPending ? 'Unsaved changes' : 'All saved';
    case 'error':
      return 'Sync error';
  }
}

/** The global connection indicator, one word per fact: online, connected, syncing. */
export function connectionLabels(state: PatchesSyncState, workingOffline: boolean): { online: string; connected: string; syncing: string } {
  const { online, connected, syncing } = state;
  return {
    online: workingOffline ? 'Working offline' : online ? 'Online' : 'Offline',
    connected: connected ? 'Connected' : workingOffline || !online ? 'Disconnected' : 'Connecting…',
    // A failed connect() leaves its NetworkError in `syncing` until the next pass: that is the
    // server being away. (By name: patches-rx errors carry their class name, and this file stays type-only.)
    syncing: syncing instanceof Error ? (syncing.name === 'NetworkError' ? 'Server unreachable' : 'Sync error') : syncing === 'initial' ? 'First sync…' : syncing === 'updating' ? 'Syncing…' : 'Idle',
  };
}
