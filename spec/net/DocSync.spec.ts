import { Subject, lastValueFrom, of, type Observable } from 'rxjs';
import { Patches } from '../../src/client/Patches.js';
import { DocSync } from '../../src/net/DocSync.js';
import type { PatchesConnection } from '../../src/net/PatchesConnection.js';
import { OwnEdits } from '../../src/net/OwnEdits.js';
import { StoredEntries } from '../../src/net/StoredEntries.js';
import { SyncedDocs } from '../../src/net/SyncedDocs.js';
import type { Change, CommitChangesResult } from '../../src/types.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { holdingStore } from '../helpers/holdingStore.js';

/** A committed change at `rev` setting `/n`. */
const committed = (rev: number): Change => ({ id: `c${rev}`, baseRev: rev - 1, rev, ops: [{ op: 'replace', path: '/n', value: rev }], createdAt: 0, committedAt: 0 });

describe('DocSync', () => {
  describe('flush$', () => {
    it('should ask for no follow-up run of its own after a reload: the run settles, and a reload that left nothing pending needs none', async () => {
      const patches = new Patches({ store: new InMemoryStore() });
      const doc = await patches.openDoc<{ n?: number; mine?: boolean }>('d');
      doc.change(draft => {
        draft.mine = true;
      });
      await doc.flush();
      const ot = patches.algorithms.ot;
      const pending = await patches.runExclusive('d', () => ot.getPendingToSend('d'));
      const own: Change = { ...pending[0], baseRev: 1, rev: 2, committedAt: 0 };
      // The server's answers: the edit, made before this client ever loaded the doc, committed on
      // top of rev 1 (`docReloadRequired`); then the history the reload asks for.
      const asked: unknown[][] = [];
      const connection = {
        capabilities: {},
        call: (method: string, params: unknown[]): Observable<unknown> => {
          asked.push([method, params[1]]);
          if (method === 'commitChanges') return of({ changes: [own], docReloadRequired: true } satisfies CommitChangesResult);
          if (method === 'getChangesSince') return of([committed(1), own]);
          throw new Error(`unexpected ${method}`);
        },
      } as unknown as PatchesConnection;
      const docs = new SyncedDocs();
      const entries = new StoredEntries({ patches, docs, ownEdits: new OwnEdits(), report: () => undefined });
      const requested: string[] = [];
      const sync = new DocSync({ patches, connection, docs, entries, limits: {}, requestSync: id => requested.push(id), report: () => undefined });

      await lastValueFrom(sync.flush$('d', ot, pending), { defaultValue: undefined });

      expect(asked).toEqual([['commitChanges', pending], ['getChangesSince', 0]]);
      expect(await patches.store.getDoc('d')).toMatchObject({ committedRev: 2, state: { n: 1, mine: true } });
      expect(await ot.hasPending('d')).toBe(false);
      expect(requested).toEqual([]);
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
      const entries = new StoredEntries({ patches, docs, ownEdits: new OwnEdits(), report: () => undefined });
      const sync = new DocSync({ patches, connection, docs, entries, limits: {}, requestSync: () => undefined, report: () => undefined });

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
