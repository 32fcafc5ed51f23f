import { Subject, firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { Patches } from '../../src/client/Patches.js';
import { DocSync } from '../../src/net/DocSync.js';
import type { PatchesConnection } from '../../src/net/PatchesConnection.js';
import { SyncedDocs } from '../../src/net/SyncedDocs.js';
import type { Change } from '../../src/types.js';
import { holdingStore } from '../helpers/holdingStore.js';

/** A committed change at `rev` setting `/n`. */
const committed = (rev: number): Change => ({ id: `c${rev}`, baseRev: rev - 1, rev, ops: [{ op: 'replace', path: '/n', value: rev }], createdAt: 0, committedAt: 0 });

describe('DocSync', () => {
  describe('refreshEntry', () => {
    it("should read the rev again when the doc's entry changed during the read, not put back what it read before", async () => {
      const store = holdingStore();
      const patches = new Patches({ store });
      await patches.trackDocs(['d']);
      await store.applyServerChanges('d', { state: { n: 1 }, rev: 1, changes: [committed(1)] });
      const docs = new SyncedDocs();
      docs.put({ d: { committedRev: 0, hasPending: false, status: 'synced' } });
      // Only refreshEntry is under test: it talks to the store and the status map, never to the socket.
      const connection = {} as PatchesConnection;
      const sync = new DocSync({ patches, connection, docs, limits: {}, requestSync: () => undefined, report: () => undefined });

      const late = store.holdNextResult('getCommittedRev');
      const refreshed = lastValueFrom(sync.refreshEntry('d'), { defaultValue: undefined });
      await late.reached; // it read rev 1; the answer is on its way
      await store.applyServerChanges('d', { state: { n: 2 }, rev: 2, changes: [committed(2)] });
      docs.update(['d'], { committedRev: 2 }); // as the doc's own apply reports it
      late.release();
      await refreshed;

      expect(docs.value.d.committedRev).toBe(2);
      expect((await firstValueFrom(docs.synced$)).d.committedRev).toBe(2);
      await patches.close();
    });
  });

  describe('pullSince$', () => {
    it('should pull again from where the doc is when its data went back while the changes were on their way', async () => {
      const patches = new Patches({ store: holdingStore() });
      await patches.trackDocs(['d']);
      await patches.store.applyServerChanges('d', { state: { n: 1 }, rev: 1, changes: [committed(1)] });
      // The socket's edge: each getChangesSince answers when the spec says.
      const asked: { since: unknown; answer: Subject<Change[]> }[] = [];
      const connection = {
        capabilities: {},
        call: (method: string, params: unknown[]): Observable<unknown> => {
          if (method !== 'getChangesSince') throw new Error(`unexpected ${method}`);
          const answer = new Subject<Change[]>();
          asked.push({ since: params[1], answer });
          return answer;
        },
      } as unknown as PatchesConnection;
      const docs = new SyncedDocs();
      docs.put({ d: { committedRev: 1, hasPending: false, status: 'synced' } });
      const sync = new DocSync({ patches, connection, docs, limits: {}, requestSync: () => undefined, report: () => undefined });

      const pulled = lastValueFrom(sync.pullSince$('d', patches.algorithms.ot), { defaultValue: undefined });
      await new Promise(resolve => setImmediate(resolve));
      expect(asked.map(a => a.since)).toEqual([1]);
      // Untracked and tracked again (its local data purged) while rev 2 is on its way.
      await patches.untrackDocs(['d']);
      await patches.trackDocs(['d']);
      asked[0].answer.next([committed(2)]);
      asked[0].answer.complete();
      await new Promise(resolve => setImmediate(resolve));
      expect(asked.map(a => a.since)).toEqual([1, 0]);
      asked[1].answer.next([committed(1), committed(2)]);
      asked[1].answer.complete();
      await pulled;

      expect(await patches.store.getDoc('d')).toMatchObject({ committedRev: 2, state: { n: 2 } });
      await patches.close();
    });
  });
});
