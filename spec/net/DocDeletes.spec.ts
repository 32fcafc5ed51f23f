import { VirtualTimeScheduler, firstValueFrom, lastValueFrom, of, throwError, toArray, type Observable, type SchedulerAction, type Subscription } from 'rxjs';
import { Patches } from '../../src/client/Patches.js';
import { StatusError, StoreOutdatedError } from '../../src/errors.js';
import { DocDeletes, type DocDeletesDeps, type RemoteDocDeletedEvent } from '../../src/net/DocDeletes.js';
import type { PatchesConnection } from '../../src/net/PatchesConnection.js';
import { failingStore } from '../helpers/failingStore.js';
import { holdingStore, type HoldingStore } from '../helpers/holdingStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';

/** A host over a real Patches and store; the socket's edge answers `deleteDoc` with `answer`. */
function hostFor(patches: Patches, answer: () => Observable<unknown> = () => of(undefined)) {
  const calls: unknown[][] = [];
  const forgotten: string[] = [];
  const syncs: string[] = [];
  const reported: unknown[] = [];
  let destroyed = false;
  let online = true;
  const connection = {
    call: (method: string, params: unknown[]) => {
      calls.push([method, params]);
      return answer();
    },
  } as unknown as PatchesConnection;
  const host: DocDeletesDeps = {
    patches,
    connection,
    canSend: () => online,
    destroyed: () => destroyed,
    forget: docId => forgotten.push(docId),
    requestSync: docId => syncs.push(docId),
    report: error => reported.push(error),
  };
  return {
    host,
    calls,
    forgotten,
    syncs,
    reported,
    destroy: () => (destroyed = true),
    goOffline: () => (online = false),
  };
}

/** A virtual clock that notes the delay of each retry it is given, and says when one is. */
class RetryClock extends VirtualTimeScheduler {
  readonly delays: number[] = [];
  private waiting: (() => void) | undefined;

  /** Resolves once the next retry is scheduled. */
  nextRetry(): Promise<void> {
    return new Promise(resolve => (this.waiting = resolve));
  }

  override schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    this.delays.push(delay);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
    return super.schedule(work, delay, state);
  }
}

/** A Patches instance with 'notes' open and one edit saved, unsent, on `store`. */
async function editedPatches<S extends PatchesStore = HoldingStore>(store: S = holdingStore() as unknown as S) {
  const patches = new Patches({ store });
  const doc = await patches.openDoc<{ title?: string }>('notes');
  doc.change(draft => {
    draft.title = 'kept';
  });
  await doc.flush();
  return { store, patches };
}

/** `editedPatches` on a store whose next `times` removals (`confirmDeleteDoc`) fail with `error`, and its DocDeletes, retrying on a `RetryClock`. */
async function failingPurge(error: unknown, times = 1) {
  const { store, patches } = await editedPatches(failingStore());
  const hosted = hostFor(patches);
  const clock = new RetryClock();
  const deletes = new DocDeletes({ ...hosted.host, scheduler: clock });
  store.failNext('confirmDeleteDoc', error, times);
  return { ...hosted, store, patches, clock, deletes };
}

describe('DocDeletes', () => {
  describe('remote$', () => {
    it('should drop the doc and hand its unsent changes over', async () => {
      const { store, patches } = await editedPatches();
      const { host, forgotten } = hostFor(patches);
      const deletes = new DocDeletes(host);
      const events: RemoteDocDeletedEvent[] = [];
      deletes.remoteDocDeleted$.subscribe(e => events.push(e));

      await lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });

      expect(events).toHaveLength(1);
      expect(events[0].docId).toBe('notes');
      expect(events[0].pendingChanges.map(c => c.ops)).toEqual([[{ op: 'add', path: '/title', value: 'kept' }]]);
      expect(forgotten).toEqual(['notes']);
      expect(patches.trackedDocs.has('notes')).toBe(false);
      expect(await store.getDoc('notes')).toBeUndefined();
      await patches.close();
    });

    it('should drop nothing once the sync is destroyed: the next connection is told again', async () => {
      const { store, patches } = await editedPatches();
      const { host, forgotten, destroy } = hostFor(patches);
      const deletes = new DocDeletes(host);
      const events: RemoteDocDeletedEvent[] = [];
      deletes.remoteDocDeleted$.subscribe(e => events.push(e));

      destroy();
      await lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });

      expect(events).toEqual([]);
      expect(forgotten).toEqual([]);
      expect((await store.getPendingChanges('notes')).map(c => c.ops)).toEqual([[{ op: 'add', path: '/title', value: 'kept' }]]);
      await patches.close();
    });

    it('should complete remoteDocDeleted$ only after a purge under way has handed its changes over', async () => {
      const { store, patches } = await editedPatches();
      const { host } = hostFor(patches);
      const deletes = new DocDeletes(host);
      const all = lastValueFrom(deletes.remoteDocDeleted$.pipe(toArray()));

      const purging = store.holdNext('confirmDeleteDoc');
      const dropped = lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });
      await purging.reached;
      deletes.complete();
      purging.release();
      await dropped;

      expect((await all).map(e => e.pendingChanges.length)).toEqual([1]);
      await patches.close();
    });

    // Found in review, fixed: the server's docDeleted notification and the sync run's 410 both asked
    // while the doc was still tracked (a slow store: IndexedDB), and the second purge, finding the doc
    // gone, handed it over again with [].
    it.each([
      ['its unsent changes', true, 1],
      ['nothing, a doc with nothing pending', false, 0],
    ])('should hand a doc asked for twice before its purge ran over once, with %s', async (_, edited, handedOver) => {
      const { patches } = edited ? await editedPatches() : { patches: new Patches({ store: holdingStore() }) };
      if (!edited) await patches.trackDocs(['notes']);
      const { host, forgotten } = hostFor(patches);
      const deletes = new DocDeletes(host);
      const events: RemoteDocDeletedEvent[] = [];
      deletes.remoteDocDeleted$.subscribe(e => events.push(e));

      const notified = lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });
      const refused = lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });
      await Promise.all([notified, refused]);

      expect(events.map(e => [e.docId, e.pendingChanges.length])).toEqual([['notes', handedOver]]);
      expect(forgotten).toEqual(['notes']);
      expect(patches.trackedDocs.has('notes')).toBe(false);
      await patches.close();
    });

    // Memory seed 98 of the fuzz (its quiet check waited for good): forgotten before the purge, the
    // doc's entry left `synced$` while the doc was still tracked and its view open, and nothing on
    // `synced$` said when it was dropped.
    it('should forget what the sync keeps for the doc only as it is dropped: untracked, its view closed, its data gone', async () => {
      const { store, patches } = await editedPatches();
      const { host } = hostFor(patches);
      const seen: unknown[] = [];
      host.forget = docId => {
        seen.push({ docId, tracked: patches.trackedDocs.has(docId), open: patches.getOpenDoc(docId) !== undefined });
        // Read now, in the step that forgets it (a read resolves later).
        void store.getDoc(docId).then(stored => seen.push({ stored }));
      };
      const deletes = new DocDeletes(host);

      await lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });

      expect(seen).toEqual([{ docId: 'notes', tracked: false, open: false }, { stored: undefined }]);
      await patches.close();
    });

    it('should keep the doc, and what the sync keeps for it, when its purge fails', async () => {
      const { store, patches, deletes, forgotten, reported } = await failingPurge(new Error('transaction aborted'));
      const doc = patches.getOpenDoc('notes');
      const events: RemoteDocDeletedEvent[] = [];
      deletes.remoteDocDeleted$.subscribe(e => events.push(e));

      await lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });

      expect(reported).toHaveLength(1);
      expect(forgotten).toEqual([]);
      expect(events).toEqual([]);
      expect(patches.trackedDocs.has('notes')).toBe(true);
      expect(patches.getOpenDoc('notes')).toBe(doc);
      expect((await store.getPendingChanges('notes')).map(c => c.ops)).toEqual([[{ op: 'add', path: '/title', value: 'kept' }]]);
      deletes.complete();
      await patches.close();
    });

    // Left so, the doc stayed (tracked, open, shown synced) until the next connection or edit heard the delete again.
    it("should purge again with the docs' backoff when its purge fails, reported once, until it is done", async () => {
      const aborted = new Error('transaction aborted');
      const { store, patches, deletes, clock, forgotten, reported } = await failingPurge(aborted, 2);
      const told = firstValueFrom(deletes.remoteDocDeleted$);

      let retry = clock.nextRetry();
      deletes.remote$('notes').subscribe();
      await retry;
      retry = clock.nextRetry();
      clock.flush();
      await retry;
      clock.flush();
      const event = await told;

      expect(clock.delays).toEqual([1000, 2000]);
      expect(reported).toEqual([aborted]);
      expect(event.pendingChanges.map(c => c.ops)).toEqual([[{ op: 'add', path: '/title', value: 'kept' }]]);
      expect(forgotten).toEqual(['notes']);
      expect(patches.trackedDocs.has('notes')).toBe(false);
      expect(await store.listDocs(true)).toEqual([]);
      await patches.close();
    });

    it('should not purge again once the sync is destroyed: no retry is left waiting', async () => {
      const { patches, deletes, clock, destroy } = await failingPurge(new Error('transaction aborted'));

      await lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });
      destroy();
      deletes.complete();

      expect(clock.actions).toEqual([]);
      await patches.close();
    });

    // Found in review: a purge under way at destroy (a page closing its store) that failed after it left a retry's timer.
    it('should not purge again when a purge under way at destroy fails after it', async () => {
      const failing = failingStore();
      const { store, patches } = await editedPatches(holdingStore(failing));
      const { host, destroy } = hostFor(patches);
      const clock = new RetryClock();
      const deletes = new DocDeletes({ ...host, scheduler: clock });
      const purging = store.holdNext('confirmDeleteDoc');
      failing.failNext('confirmDeleteDoc', new Error('the database is closing'));

      const done = lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });
      await purging.reached;
      destroy();
      deletes.complete();
      purging.release();
      await done;

      expect(clock.actions).toEqual([]);
      await patches.close();
    });

    it('should not purge again when the store can no longer be used', async () => {
      const outdated = new StoreOutdatedError('patches', 3, 4);
      const { patches, deletes, clock, reported } = await failingPurge(outdated);

      await lastValueFrom(deletes.remote$('notes'), { defaultValue: undefined });
      clock.flush();

      expect(reported).toEqual([outdated]);
      expect(clock.delays).toEqual([]);
      expect(patches.trackedDocs.has('notes')).toBe(true);
      await patches.close();
    });

    it('should do nothing for a doc that is not tracked', async () => {
      const { patches } = await editedPatches();
      const { host, forgotten } = hostFor(patches);
      const deletes = new DocDeletes(host);

      await lastValueFrom(deletes.remote$('other'), { defaultValue: undefined });

      expect(forgotten).toEqual([]);
      await patches.close();
    });
  });

  describe('local$', () => {
    it('should remove the tombstone once the server confirms the delete', async () => {
      const { store, patches } = await editedPatches();
      const { host, calls } = hostFor(patches);
      await patches.deleteDoc('notes');

      await lastValueFrom(new DocDeletes(host).local$('notes'), { defaultValue: undefined });

      expect(calls).toEqual([['deleteDoc', ['notes']]]);
      expect((await store.listDocs(true)).map(d => d.docId)).toEqual([]);
      await patches.close();
    });

    it.each([404, 410])('should count a %i as deleted: the tombstone must not wait forever', async code => {
      const { store, patches } = await editedPatches();
      const { host, reported } = hostFor(patches, () => throwError(() => new StatusError(code, 'gone')));
      await patches.deleteDoc('notes');

      await lastValueFrom(new DocDeletes(host).local$('notes'), { defaultValue: undefined });

      expect(reported).toEqual([]);
      expect((await store.listDocs(true)).map(d => d.docId)).toEqual([]);
      await patches.close();
    });

    it('should report another refusal and keep the tombstone for the next pass', async () => {
      const { store, patches } = await editedPatches();
      const refusal = new StatusError(403, 'not yours');
      const { host, reported } = hostFor(patches, () => throwError(() => refusal));
      await patches.deleteDoc('notes');
      const deletes = new DocDeletes(host);

      await lastValueFrom(deletes.local$('notes'), { defaultValue: undefined });

      expect(reported).toEqual([refusal]);
      expect(await store.listDocs(true)).toEqual([expect.objectContaining({ docId: 'notes', deleted: true })]);
      // It is probed again in a while (a 403 may be lifted); the connection's end stops that.
      deletes.stopRetries();
      await patches.close();
    });

    it('should keep a doc tracked again meanwhile, and sync it to learn what the server holds', async () => {
      const { store, patches } = await editedPatches();
      const { host, syncs } = hostFor(patches);
      await patches.deleteDoc('notes');
      const doc = await patches.openDoc<{ title?: string }>('notes');
      doc.change(draft => {
        draft.title = 'again';
      });
      await doc.flush();

      await lastValueFrom(new DocDeletes(host).local$('notes'), { defaultValue: undefined });

      expect(syncs).toEqual(['notes']);
      expect((await store.getPendingChanges('notes')).length).toBeGreaterThan(0);
      await patches.close();
    });

    it('should not call the server while it cannot send', async () => {
      const { patches } = await editedPatches();
      const { host, calls, goOffline } = hostFor(patches);
      await patches.deleteDoc('notes');
      goOffline();

      await lastValueFrom(new DocDeletes(host).local$('notes'), { defaultValue: undefined });

      expect(calls).toEqual([]);
      await patches.close();
    });
  });
});
