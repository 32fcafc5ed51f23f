import { firstValueFrom, lastValueFrom, type SchedulerLike } from 'rxjs';
import type { ClientAlgorithm } from '../../src/client/ClientAlgorithm.js';
import { Patches } from '../../src/client/Patches.js';
import { OwnEdits } from '../../src/net/OwnEdits.js';
import { StoredEntries } from '../../src/net/StoredEntries.js';
import { SyncedDocs } from '../../src/net/SyncedDocs.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { PatchesStore } from '../../src/stores/PatchesStore.js';
import { StoreOutdatedError } from '../../src/errors.js';
import type { Change } from '../../src/types.js';
import { holdingStore, type HoldingStore } from '../helpers/holdingStore.js';
import { failingStore } from '../helpers/failingStore.js';
import { virtualTime } from '../helpers/marbles.js';

/** A committed change at `rev` setting `/n`. */
const committed = (rev: number): Change => ({ id: `c${rev}`, baseRev: rev - 1, rev, ops: [{ op: 'replace', path: '/n', value: rev }], createdAt: 0, committedAt: 0 });

/** StoredEntries over a real Patches and store; what it reports is collected. */
function entriesOver(store: PatchesStore = holdingStore(), scheduler?: SchedulerLike) {
  const patches = new Patches({ store });
  const docs = new SyncedDocs();
  const ownEdits = new OwnEdits();
  const reported: { error: unknown; docId?: string }[] = [];
  const entries = new StoredEntries({ patches, docs, ownEdits, report: (error, docId) => reported.push({ error, docId }), scheduler });
  return { patches, docs, ownEdits, entries, reported };
}

/**
 * Runs `read` with the store's next `getCommittedRev` answer (rev 0) held while doc 'a' applies
 * rev 1 and its entry shows it: what the read found is then older than the entry.
 */
async function newerRevDuringRead(store: HoldingStore, docs: SyncedDocs, read: () => Promise<unknown>): Promise<void> {
  const reading = store.holdNextResult('getCommittedRev');
  const done = read();
  await reading.reached;
  await store.applyServerChanges('a', { state: { n: 1 }, rev: 1, changes: [committed(1)] });
  docs.update(['a'], { committedRev: 1 }); // as the doc's own apply reports it
  reading.release();
  await done;
}

describe('StoredEntries', () => {
  describe('add', () => {
    it("should put each tracked doc's committed rev and pending state: 'unsynced' before its first rev", async () => {
      const { patches, docs, entries } = entriesOver();
      await patches.trackDocs(['fresh', 'synced']);
      await patches.store.applyServerChanges('synced', { state: { n: 1 }, rev: 1, changes: [committed(1)] });
      const doc = await patches.openDoc<{ n?: number }>('fresh');
      doc.change(draft => {
        draft.n = 5;
      });
      await doc.flush();

      await entries.add(['fresh', 'synced']);

      expect(docs.value).toEqual({
        fresh: { committedRev: 0, hasPending: true, status: 'unsynced' },
        synced: { committedRev: 1, hasPending: false, status: 'synced' },
      });
      await patches.close();
    });

    it("should keep a run's 'syncing' and an 'error' status: only the doc's next sync run settles them", async () => {
      const { patches, docs, entries } = entriesOver();
      await patches.trackDocs(['a', 'b']);
      docs.put({ a: { committedRev: 0, hasPending: false, status: 'syncing' }, b: { committedRev: 0, hasPending: false, status: 'error' } });

      await entries.add(['a', 'b']);

      expect([docs.value.a.status, docs.value.b.status]).toEqual(['syncing', 'error']);
      await patches.close();
    });

    it("should not show a doc 'synced' here as never synced when it is read again at rev 0 (its edits still local)", async () => {
      const { patches, docs, entries } = entriesOver();
      await patches.trackDocs(['local']);
      // A disconnect settled its run: its edits are local, so the save indicator says "Unsaved changes".
      docs.put({ local: { committedRev: 0, hasPending: true, status: 'synced' } });

      await entries.add(['local']);

      expect(docs.value.local.status).toBe('synced');
      await patches.close();
    });

    it('should leave entries alone with onlyMissing', async () => {
      const { patches, docs, entries } = entriesOver();
      await patches.trackDocs(['a', 'b']);
      docs.put({ a: { committedRev: 7, hasPending: false, status: 'synced' } });

      await entries.add(['a', 'b'], { onlyMissing: true });

      expect(docs.value).toEqual({ a: { committedRev: 7, hasPending: false, status: 'synced' }, b: { committedRev: 0, hasPending: false, status: 'unsynced' } });
      await patches.close();
    });

    it('should not bring back the entry of a doc untracked while it was read', async () => {
      const store = holdingStore();
      const { patches, docs, entries } = entriesOver(store);
      await patches.trackDocs(['a']);

      const reading = store.holdNextResult('getCommittedRev');
      const added = entries.add(['a']);
      await reading.reached;
      await patches.untrackDocs(['a']);
      reading.release();
      await added;

      expect(docs.value).toEqual({});
      await patches.close();
    });

    it('should read again a doc whose entry changed while it was read, not put back what it found before', async () => {
      const store = holdingStore();
      const { patches, docs, entries } = entriesOver(store);
      await patches.trackDocs(['a']);
      docs.put({ a: { committedRev: 0, hasPending: false, status: 'synced' } });

      await newerRevDuringRead(store, docs, () => entries.add(['a']));

      expect(docs.value.a.committedRev).toBe(1);
      await patches.close();
    });

    it("should report one doc's failed read for that doc and still put the others' entries", async () => {
      const failure = new Error('disk gone');
      class FailingStore extends InMemoryStore {
        override async getCommittedRev(docId: string): Promise<number> {
          if (docId === 'bad') throw failure;
          return super.getCommittedRev(docId);
        }
      }
      const { patches, docs, entries, reported } = entriesOver(new FailingStore());
      await patches.trackDocs(['bad', 'good']);

      await entries.add(['bad', 'good']);

      expect(reported).toEqual([{ error: failure, docId: 'bad' }]);
      expect(Object.keys(docs.value)).toEqual(['good']);
      await patches.close();
    });

    it('should name a doc whose read failed on unread$, and its reread$ should not report that failure again', async () => {
      const store = failingStore();
      const scheduler = virtualTime();
      const { patches, docs, entries, reported } = entriesOver(store, scheduler);
      await patches.trackDocs(['bad']);
      const aborted = Object.assign(new Error('The transaction was aborted.'), { name: 'AbortError' });
      store.failNext('getCommittedRev', aborted, 2);
      const unread: string[] = [];
      const seen: string[] = [];
      entries.unread$.subscribe(docId => {
        unread.push(docId);
        entries.reread$(docId).subscribe({ complete: () => seen.push('done') });
      });

      await entries.add(['bad']);
      expect(unread).toEqual(['bad']);
      // The reread's first try fails too: reported by add already, not again.
      for (let i = 0; i < 50 && scheduler.actions.length === 0; i++) await new Promise(resolve => setImmediate(resolve));
      scheduler.flush();
      for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise(resolve => setImmediate(resolve));

      expect(seen).toEqual(['done']);
      expect(docs.value.bad).toEqual({ committedRev: 0, hasPending: false, status: 'unsynced' });
      expect(reported).toEqual([{ error: aborted, docId: 'bad' }]);
      await patches.close();
    });
  });

  describe('rev$', () => {
    it('should show the committed rev as stored', async () => {
      const { patches, docs, entries } = entriesOver();
      await patches.trackDocs(['a']);
      await patches.store.applyServerChanges('a', { state: { n: 1 }, rev: 1, changes: [committed(1)] });
      docs.put({ a: { committedRev: 0, hasPending: false, status: 'synced' } });

      await lastValueFrom(entries.rev$('a'), { defaultValue: undefined });

      expect(docs.value.a).toEqual({ committedRev: 1, hasPending: false, status: 'synced' });
      await patches.close();
    });

    it("should read the rev again when the doc's entry changed during the read, not put back what it read before", async () => {
      const store = holdingStore();
      const { patches, docs, entries } = entriesOver(store);
      await patches.trackDocs(['a']);
      docs.put({ a: { committedRev: 0, hasPending: false, status: 'synced' } });

      await newerRevDuringRead(store, docs, () => lastValueFrom(entries.rev$('a'), { defaultValue: undefined }));

      expect(docs.value.a.committedRev).toBe(1);
      expect((await firstValueFrom(docs.synced$)).a.committedRev).toBe(1);
      await patches.close();
    });

    it('should fail with the read, and name the doc on unread$ to be read again', async () => {
      const store = failingStore();
      const { patches, docs, entries } = entriesOver(store);
      await patches.trackDocs(['a']);
      docs.put({ a: { committedRev: 0, hasPending: false, status: 'synced' } });
      const aborted = Object.assign(new Error('The transaction was aborted.'), { name: 'AbortError' });
      store.failNext('getCommittedRev', aborted);
      const unread: string[] = [];
      entries.unread$.subscribe(docId => unread.push(docId));

      await expect(lastValueFrom(entries.rev$('a'), { defaultValue: undefined })).rejects.toBe(aborted);

      expect(unread).toEqual(['a']);
      await patches.close();
    });
  });

  describe('reread$', () => {
    /** Lets the event loop turn until `done()` or 50 turns have passed (an in-memory store call completes within a few). */
    async function turns(done: () => boolean): Promise<void> {
      for (let i = 0; i < 50 && !done(); i++) await new Promise(resolve => setImmediate(resolve));
    }

    it('should read the entry again later when its read failed, until it is read, reporting it once', async () => {
      const store = failingStore();
      const scheduler = virtualTime();
      const { patches, docs, entries, reported } = entriesOver(store, scheduler);
      await patches.trackDocs(['a']);
      docs.put({ a: { committedRev: 0, hasPending: false, status: 'synced' } });
      // Another tab applied rev 1; this tab's read of it fails (an aborted transaction), then its first retry.
      await store.applyServerChanges('a', { state: { n: 1 }, rev: 1, changes: [committed(1)] });
      const aborted = Object.assign(new Error('The transaction was aborted.'), { name: 'AbortError' });
      store.failNext('getCommittedRev', aborted, 2);
      const seen: string[] = [];
      entries.reread$('a').subscribe({ next: () => seen.push('read'), complete: () => seen.push('done') });

      await turns(() => scheduler.actions.length > 0);
      expect(reported).toEqual([{ error: aborted, docId: 'a' }]);
      scheduler.flush();
      await turns(() => scheduler.actions.length > 0);
      // Left so, the entry showed rev 0 until the doc's next write.
      expect(docs.value.a.committedRev).toBe(0);
      scheduler.flush();
      await turns(() => seen.length === 2);

      expect(seen).toEqual(['read', 'done']);
      expect(docs.value.a).toEqual({ committedRev: 1, hasPending: false, status: 'synced' });
      expect(reported).toHaveLength(1);
      await patches.close();
    });

    it('should not read again after an error retrying cannot fix', async () => {
      const store = failingStore();
      const scheduler = virtualTime();
      const { patches, docs, entries, reported } = entriesOver(store, scheduler);
      await patches.trackDocs(['a']);
      const outdated = new StoreOutdatedError('app', 3, 4);
      store.failNext('getCommittedRev', outdated);

      const seen: string[] = [];
      entries.reread$('a').subscribe({ complete: () => seen.push('done') });
      await turns(() => seen.length > 0);

      expect(seen).toEqual(['done']);
      expect(reported).toEqual([{ error: outdated, docId: 'a' }]);
      expect(docs.value.a).toBeUndefined();
      expect(scheduler.actions).toHaveLength(0);
      await patches.close();
    });
  });

  describe('hasPending', () => {
    /** The algorithm's edge: answers `answers` in turn, running `during(n)` inside the n-th read. */
    const answering = (answers: boolean[], during: (read: number) => void = () => undefined) => {
      let reads = 0;
      const algorithm = {
        hasPending: async () => {
          reads++;
          during(reads);
          return answers[reads - 1];
        },
      } as unknown as ClientAlgorithm;
      return { algorithm, reads: () => reads };
    };

    it('should read again when an edit was announced during a read that found nothing pending', async () => {
      const { patches, ownEdits, entries } = entriesOver();
      // The first read looked before the edit was saved; the second finds it.
      const { algorithm, reads } = answering([false, true], read => read === 1 && ownEdits.edited('a'));

      expect(await entries.hasPending('a', algorithm)).toBe(true);
      expect(reads()).toBe(2);
      await patches.close();
    });

    it('should take a read that found nothing when no edit came meanwhile, and clear the mark of an earlier edit', async () => {
      const { patches, ownEdits, entries } = entriesOver();
      ownEdits.edited('a');
      const { algorithm, reads } = answering([false]);

      expect(await entries.hasPending('a', algorithm)).toBe(false);
      expect(reads()).toBe(1);
      expect(ownEdits.shown('a', { committedRev: 1, hasPending: false, status: 'synced' }).hasPending).toBe(false);
      await patches.close();
    });
  });
});
