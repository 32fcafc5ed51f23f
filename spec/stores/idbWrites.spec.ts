import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { DocNotTrackedError, StoreConflictError, StoreError } from '../../src/errors.js';
import { IdbConnection } from '../../src/stores/IdbConnection.js';
import type { DocRow } from '../../src/stores/idbDocRow.js';
import { ALL_STORES, IDB_MIGRATIONS, docRange, type RWTx } from '../../src/stores/idbSchema.js';
import { clearDocData, guardedRow, putPendingQueue, putState, readGuarded, retagged, rewoundTo } from '../../src/stores/idbWrites.js';
import { KnownQueues } from '../../src/stores/KnownQueues.js';
import type { Change } from '../../src/types.js';

function change(id: string, rev: number): Change {
  return { id, ops: [{ op: 'replace', path: '/n', value: rev }], baseRev: rev - 1, rev, createdAt: 1, committedAt: 0 };
}

describe('idbWrites', () => {
  let connection: IdbConnection;

  /** One readwrite transaction over every store. */
  const write = <R>(body: (tx: RWTx) => Promise<R> | R) => connection.transact('readwrite', ALL_STORES, 'write', 'd', async (tx) => body(tx));

  /** Everything stored for `docId`. */
  const dump = (docId: string) =>
    connection.transact('readonly', ALL_STORES, 'dump', docId, async (tx) => ({
      row: await tx.objectStore('docs').get(docId),
      state: (await tx.objectStore('states').get(docId))?.state,
      history: (await tx.objectStore('committedChanges').getAll(docRange(docId))).map((r) => r.rev),
      queue: (await tx.objectStore('pendingChanges').getAll(docRange(docId))).map((r) => [r.seq, r.change.id]),
      ops: (await tx.objectStore('pendingOps').getAll(docRange(docId))).map((r) => r.path),
      sending: (await tx.objectStore('sending').get(docId))?.change.id,
    }));

  /** A doc `docId` with a bit of everything: rev 3, history 1–3, a queue of two, an op, an in-flight change. */
  const seed = (docId: string, row: Partial<DocRow> = {}) =>
    write(async (tx) => {
      await tx.objectStore('docs').put({ docId, algorithm: 'ot', committedRev: 3, queueTag: 't1', ...row });
      await tx.objectStore('states').put({ docId, state: { n: 3 } });
      for (const rev of [1, 2, 3]) await tx.objectStore('committedChanges').put({ docId, rev, change: change(`c${rev}`, rev) });
      putPendingQueue(tx, docId, [change('p1', 4), change('p2', 5)]);
      await tx.objectStore('pendingOps').put({ docId, path: '/a', op: { op: 'replace', path: '/a', value: 1 } });
      await tx.objectStore('sending').put({ docId, change: change('s1', 4) });
    });

  beforeEach(() => {
    connection = new IdbConnection('app', new IDBFactory(), () => IDB_MIGRATIONS);
  });

  afterEach(() => connection.close());

  describe('guardedRow', () => {
    it('should give the row of a tracked doc whose guard holds', async () => {
      await seed('d');
      const row = await write((tx) => guardedRow(tx, 'd', { committedRev: 3, pendingIds: ['p1', 'p2'] }, 'ot'));
      expect(row).toMatchObject({ docId: 'd', committedRev: 3 });
    });

    it('should refuse a doc that is unknown or deleted, of the other algorithm, or no longer as the guard says', async () => {
      await seed('d');
      await seed('gone', { deleted: true });
      const refusal = (docId: string, ...rest: [Parameters<typeof guardedRow>[2], Parameters<typeof guardedRow>[3]?]) =>
        write((tx) => guardedRow(tx, docId, ...rest)).then(
          () => undefined,
          (error: StoreError) => error.cause ?? error,
        );
      expect(await refusal('nope', undefined)).toBeInstanceOf(DocNotTrackedError);
      expect(await refusal('gone', undefined)).toBeInstanceOf(DocNotTrackedError);
      expect(await refusal('d', undefined, 'lww')).toMatchObject({ name: 'StoreError', message: 'Doc "d" is OT, not LWW' });
      expect(await refusal('d', { committedRev: 2 })).toBeInstanceOf(StoreConflictError);
      expect(await refusal('d', { pendingIds: ['p1'] })).toBeInstanceOf(StoreConflictError);
    });
  });

  describe('readGuarded', () => {
    it("should check the queue against what this instance knows under the row's tag, and read it once the tag moved on", async () => {
      await seed('d');
      const known = new KnownQueues();
      known.remember('d', 't1', { ids: ['p1', 'p2', 'p3'] }); // not what is stored: shows it was not read
      expect(await write((tx) => readGuarded(tx, 'd', { pendingIds: ['p1', 'p2', 'p3'] }, known))).toMatchObject({ conflict: undefined });
      await write((tx) => tx.objectStore('docs').put({ docId: 'd', algorithm: 'ot', committedRev: 3, queueTag: 't2' }));
      expect((await write((tx) => readGuarded(tx, 'd', { pendingIds: ['p1', 'p2', 'p3'] }, known))).conflict).toBeDefined();
      expect(await write((tx) => readGuarded(tx, 'd', { pendingIds: ['p1', 'p2'] }, known))).toMatchObject({ conflict: undefined });
    });

    it('should give no row and no conflict for an unknown doc', async () => {
      expect(await write((tx) => readGuarded(tx, 'nope', { committedRev: 1 }, undefined))).toEqual({});
    });
  });

  describe('retagged', () => {
    const row: DocRow = { docId: 'd', algorithm: 'ot', committedRev: 3, queueTag: 't', queueBase: 'b' };

    it('should give the row a new tag, and keep its queue base only for an append', () => {
      const appended = retagged(row, true);
      const replaced = retagged(row);
      expect(appended.queueTag).not.toBe('t');
      expect(appended.queueBase).toBe('b');
      expect(replaced.queueTag).not.toBe('t');
      expect(replaced.queueBase).not.toBe('b');
      expect(retagged({ ...row, queueBase: undefined }, true).queueBase).toEqual(expect.any(String));
    });
  });

  describe('putState', () => {
    it('should write the state at the rev and drop the tail the row lagged by', async () => {
      await seed('d', { stateRev: 1, logFrom: 0 });
      await write(async (tx) => putState(tx, (await tx.objectStore('docs').get('d'))!, 5, { n: 5 }));
      const { row, state } = await dump('d');
      expect(row).toEqual({ docId: 'd', algorithm: 'ot', committedRev: 5, logFrom: 0, queueTag: 't1' });
      expect(state).toEqual({ n: 5 });
    });

    it('should start the log of a row from before logFrom at this write', async () => {
      await seed('d');
      await write(async (tx) => putState(tx, (await tx.objectStore('docs').get('d'))!, 4, { n: 4 }));
      expect((await dump('d')).row?.logFrom).toBe(4);
    });
  });

  describe('rewoundTo', () => {
    it('should leave a row going forward as it is', async () => {
      await seed('d');
      const row = await write(async (tx) => rewoundTo(tx, (await tx.objectStore('docs').get('d'))!, 3));
      expect(row.rewound).toBeUndefined();
      expect((await dump('d')).history).toEqual([1, 2, 3]);
    });

    it('should drop the history past the rev it goes back to and widen `rewound`', async () => {
      await seed('d');
      const row = await write(async (tx) => rewoundTo(tx, (await tx.objectStore('docs').get('d'))!, 1));
      expect(row.rewound).toEqual({ to: 1, from: 3 });
      expect((await dump('d')).history).toEqual([1]);
    });
  });

  describe('putPendingQueue and clearDocData', () => {
    it('should replace the whole queue, numbered from 1', async () => {
      await seed('d');
      await write((tx) => putPendingQueue(tx, 'd', [change('q1', 4)]));
      expect((await dump('d')).queue).toEqual([[1, 'q1']]);
    });

    it("should clear the doc's data but its row, and nothing of another doc", async () => {
      await seed('d');
      await seed('e');
      const before = await dump('e');
      await write((tx) => clearDocData(tx, 'd'));
      expect(await dump('d')).toEqual({ row: expect.objectContaining({ docId: 'd' }), state: undefined, history: [], queue: [], ops: [], sending: undefined });
      expect(await dump('e')).toEqual(before);
    });
  });
});
