/**
 * The public API, checked twice: by `tsc` (this file must type-check, and every
 * `// @ts-expect-error` line must really be an error) and by jest (every documented export exists).
 */
import type { Draft } from 'immer';
import {
  Patches,
  PatchesDoc,
  PatchesSync,
  InMemoryStore,
  IndexedDBStore,
  IDB_MIGRATIONS,
  IDB_SCHEMA_VERSION,
  type IDBStoreMigration,
  applyPatch,
  transformPatch,
  rebaseChanges,
  consolidateOps,
  breakChangesIntoBatches,
  backoffRetry,
  serialGate,
  batchChanges,
  dispatchByAlgorithm,
  online$,
  liveness,
  wakeups$,
  AuthError,
  AlgorithmMismatchError,
  classifyError,
  createChange,
  createId,
  PatchesError,
  ServerRevisionRegressedError,
  StatusError,
  StoreError,
  type Algorithm,
  type PatchesSyncState,
  type SyncedDoc,
} from '../src/index.js';
import * as net from '../src/net/index.js';
import { startServer, MemoryServerStore, FileServerStore, RevConflictError, DuplicateChangeIdsError } from '../src/server/index.js';

interface Counter {
  n: number;
}

/**
 * Never called: its body exists for `tsc`. Each `@ts-expect-error` fails the type check if the
 * line below it compiles, so loosening a public type breaks `npm run typecheck`.
 */
async function compileTimeChecks(patches: Patches, sync: PatchesSync): Promise<void> {
  // A subclass appends schema steps of its own after the library's, from the package's entry point.
  const drafts: IDBStoreMigration = db => {
    if (!db.objectStoreNames.contains('drafts')) db.createObjectStore('drafts', { keyPath: 'id' });
  };
  class AppStore extends IndexedDBStore {
    protected override readonly migrations = [...IDB_MIGRATIONS, drafts];
  }
  void new AppStore('app');
  const doc = await patches.openDoc<Counter>('counter');
  doc.change(draft => {
    draft.n = 1;
  });
  doc.change(draft => {
    // @ts-expect-error the draft carries the doc type: n is a number
    draft.n = 'x';
  });
  void patches.openDoc<Counter>('counter').then(d =>
    d.change(draft => {
      // @ts-expect-error the draft carries the doc type through openDoc<T>().then
      draft.n = 'x';
    }),
  );
  patches.doc$<Counter>('counter').subscribe(d =>
    d.change(draft => {
      // @ts-expect-error the draft carries the doc type through doc$<T>()
      draft.n = 'x';
    }),
  );
  await patches.closeDoc('counter', { force: true });
  // @ts-expect-error closeDoc's options are typed
  await patches.closeDoc('counter', { forced: true });
  doc.change(draft => {
    // @ts-expect-error no such field on the doc type
    draft.missing = true;
  });
  const n: number = doc.state.n;
  void n;
  // @ts-expect-error doc.state is a read-only getter
  doc.state = { n: 2 };

  // @ts-expect-error sync.state is a read-only getter
  sync.state = { online: true, connected: true, syncing: null };
  const state: PatchesSyncState = sync.state;
  void state;
  // @ts-expect-error no Subject is exposed: changes$ cannot be pushed into from outside
  patches.changes$.next({ docId: 'x', changes: [] });
  // @ts-expect-error no Subject is exposed on sync either
  sync.state$.next(state);
  // @ts-expect-error synced is read-only
  sync.synced = {};

  // @ts-expect-error the server url is required
  new PatchesSync(patches);
  new PatchesSync(patches, 'ws://localhost:8787');

  // @ts-expect-error unknown algorithm
  await patches.openDoc('x', { algorithm: 'crdt' });
  // @ts-expect-error unknown default algorithm
  new Patches({ store: new InMemoryStore(), defaultAlgorithm: 'crdt' });
  // @ts-expect-error a store is required
  new Patches({});
  const algorithm: Algorithm = 'lww';
  await patches.openDoc('y', { algorithm });

  // @ts-expect-error compression settings are typed (our own interface: consumers need no @types/ws)
  void startServer({ compression: { threshold: 'big' } });

  // @ts-expect-error a SyncedDoc status is one of four words
  const bad: SyncedDoc = { committedRev: 0, hasPending: false, status: 'done' };
  void bad;
}

describe('public API (src/index.ts, src/net/index.ts, src/server/index.ts)', () => {
  it('should type-check the compile-time checks (run by tsc, never called here)', () => {
    expect(compileTimeChecks).toBeInstanceOf(Function);
  });

  it.each([
    ['Patches', Patches],
    ['PatchesDoc', PatchesDoc],
    ['PatchesSync', PatchesSync],
    ['InMemoryStore', InMemoryStore],
    ['IndexedDBStore', IndexedDBStore],
    ['applyPatch', applyPatch],
    ['transformPatch', transformPatch],
    ['rebaseChanges', rebaseChanges],
    ['consolidateOps', consolidateOps],
    ['breakChangesIntoBatches', breakChangesIntoBatches],
    ['backoffRetry', backoffRetry],
    ['serialGate', serialGate],
    ['batchChanges', batchChanges],
    ['dispatchByAlgorithm', dispatchByAlgorithm],
    ['online$', online$],
    ['liveness', liveness],
    ['wakeups$', wakeups$],
    ['AuthError', AuthError],
    ['AlgorithmMismatchError', AlgorithmMismatchError],
    ['classifyError', classifyError],
    ['createChange', createChange],
    ['createId', createId],
    ['startServer', startServer],
    ['MemoryServerStore', MemoryServerStore],
    ['FileServerStore', FileServerStore],
  ])('should export %s as a function or class', (_name, value) => {
    expect(typeof value).toBe('function');
  });

  it('should export the IndexedDB schema steps a subclass appends its own to', () => {
    expect(IDB_MIGRATIONS).toHaveLength(IDB_SCHEMA_VERSION);
    expect(IDB_MIGRATIONS.every(step => typeof step === 'function')).toBe(true);
  });

  it('should re-export the net entry point from the main barrel', () => {
    expect(net.PatchesSync).toBe(PatchesSync);
    expect(net.classifyError).toBe(classifyError);
  });

  it('should export the error classes with their names', () => {
    const error = new StatusError(410, 'gone');
    expect(error).toBeInstanceOf(PatchesError);
    expect(error.name).toBe('StatusError');
    const regressed = new ServerRevisionRegressedError('notes', 106, 60);
    expect(regressed).toBeInstanceOf(PatchesError);
    expect({ name: regressed.name, docId: regressed.docId, localRev: regressed.localRev, serverRev: regressed.serverRev }).toEqual({ name: 'ServerRevisionRegressedError', docId: 'notes', localRev: 106, serverRev: 60 });
  });

  it('should export the errors a custom ServerStore throws from the server entry point', () => {
    const duplicate = new DuplicateChangeIdsError('notes', new Map([['c1', 3]]));
    expect(duplicate).toBeInstanceOf(StoreError);
    expect({ name: duplicate.name, docId: duplicate.docId, committed: duplicate.committed }).toEqual({ name: 'DuplicateChangeIdsError', docId: 'notes', committed: new Map([['c1', 3]]) });
    const conflict = new RevConflictError('notes', 4);
    expect(conflict).toBeInstanceOf(StoreError);
    expect({ name: conflict.name, rev: conflict.rev }).toEqual({ name: 'RevConflictError', rev: 4 });
  });

  it('should keep Subjects private: changes$ has no next', () => {
    const patches = new Patches({ store: new InMemoryStore() });
    expect('next' in patches.changes$).toBe(false);
    expect('next' in patches.errors$).toBe(false);
  });

  it('should expose PatchesSync.state as a getter without a setter', () => {
    const descriptor = Object.getOwnPropertyDescriptor(PatchesSync.prototype, 'state');
    expect(typeof descriptor?.get).toBe('function');
    expect(descriptor?.set).toBeUndefined();
  });

  it('should accept a mutator typed (d: Draft<{ n: number }>) => void on a typed doc', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const doc = await patches.openDoc<Counter>('counter');
    const setToSeven = (d: Draft<Counter>): void => {
      d.n = 7;
    };
    doc.change(setToSeven);
    expect(doc.state).toEqual({ n: 7 });
    await patches.close();
  });
});
