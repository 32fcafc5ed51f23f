import { startHarness, docSynced, type SyncHarness } from '../helpers/syncHarness.js';

type Todos = { items: { title: string; done: boolean }[]; archive?: { title: string; done: boolean }[] };

/**
 * An item put into a new array and edited in one recipe: immer 11 leaves that edit out of its
 * patches, so the author showed it while the server and every other client never had it (found
 * in review). Through the reference server, OT and LWW: the other client gets the rename.
 */
describe('an item put into a new array and edited in the same change, through the server', () => {
  let harness: SyncHarness;
  beforeEach(async () => {
    harness = await startHarness();
  });
  afterEach(async () => {
    await harness.close();
  });

  for (const algorithm of ['ot', 'lww'] as const) {
    it(`should give the other client the rename, and keep it at the author after the server's confirmation (${algorithm})`, async () => {
      const id = `todos-${algorithm}`;
      const A = await harness.connected();
      const B = await harness.connected();
      const a = await A.patches.openDoc<Todos>(id, { algorithm });
      const b = await B.patches.openDoc<Todos>(id, { algorithm });
      a.change(d => {
        d.items = [{ title: 'Buy milk', done: true }];
      });
      await docSynced(B.sync, id, 1);
      a.change(d => {
        d.archive = d.items.filter(i => i.done);
        d.items[0].title = 'Buy oat milk';
      });
      await docSynced(A.sync, id, 2);
      await docSynced(B.sync, id, 2);
      const expected = { items: [{ title: 'Buy oat milk', done: true }], archive: [{ title: 'Buy oat milk', done: true }] };
      expect(b.state).toEqual(expected);
      expect(a.state).toEqual(expected);
      expect(A.errors).toEqual([]);
      expect(B.errors).toEqual([]);
    });
  }
});
