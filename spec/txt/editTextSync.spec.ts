import type { DeltaOp, TextDocument } from '../../src/algorithms/deltaOps.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { editText } from '../../src/txt/editText.js';
import { enableRichText } from '../../src/txt/enableRichText.js';
import { docSynced, serverHistory, startHarness, when, type SyncHarness } from '../helpers/syncHarness.js';
import type { TestClient } from '../helpers/syncHarness.js';
import { plainText } from '../helpers/plainText.js';

/**
 * Two people typing in one text field, through a real server on loopback: `editText` in
 * `change()` sends `@txt` deltas, which the server transforms, so both keep their characters.
 * Written whole (a `replace`), the later text would win and the other's typing be lost.
 */
interface Page {
  body?: TextDocument;
}

const text = (value: string): TextDocument => ({ ops: [{ insert: value }] });

let harness: SyncHarness;

beforeAll(() => enableRichText());

beforeEach(async () => {
  harness = await startHarness();
});

afterEach(async () => {
  await harness.close();
});



/** Two clients with `docId` open, both at rev 1 holding `initial` (written as text by the first). */
async function twoEditors(docId: string, initial: string, algorithm: 'ot' | 'lww' = 'ot', optionsOfA: Parameters<SyncHarness['client']>[0] = {}) {
  const [a, b] = await Promise.all([harness.connected(optionsOfA), harness.connected()]);
  const docA = await a.patches.openDoc<Page>(docId, { algorithm });
  docA.change((draft) => {
    draft.body = editText(draft.body, [{ insert: initial }]);
  });
  await docSynced(a.sync, docId, 1);
  const docB = await b.patches.openDoc<Page>(docId, { algorithm });
  await docSynced(b.sync, docId, 1);
  await when(docB.state$, (state) => state.body !== undefined);
  return { a, b, docA, docB };
}

/** Resolves once the doc shows the committed state at `rev` (or later). */
const atRev = (doc: PatchesDoc<Page>, rev: number) => when(doc.state$, () => doc.committedRev >= rev);

const type = (doc: PatchesDoc<Page>, delta: DeltaOp[]) =>
  doc.change((draft) => {
    draft.body = editText(draft.body, delta);
  });

describe('editText through sync', () => {
  it('should keep both insertions of two clients typing offline at different places, once both are back', async () => {
    const { a, b, docA, docB } = await twoEditors('page', 'Hello world');
    a.sync.disconnect();
    b.sync.disconnect();
    type(docA, [{ retain: 5 }, { insert: ', dear' }]);
    type(docB, [{ retain: 11 }, { insert: '!' }]);
    await Promise.all([docA.flush(), docB.flush()]);

    await a.sync.connect();
    await docSynced(a.sync, 'page', 2);
    await b.sync.connect();
    await docSynced(b.sync, 'page', 3);
    await atRev(docA, 3);

    expect(plainText(docA.state.body)).toBe('Hello, dear world!\n');
    expect(docB.state).toEqual(docA.state);
    const history = await serverHistory(a, 'page');
    expect(history.flatMap((change) => change.ops.map((op) => op.op))).toEqual(['@txt', '@txt', '@txt']);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('should keep both insertions of two clients typing at the same place with both edits in flight at once', async () => {
    const { a, b, docA, docB } = await twoEditors('page', 'Hello');
    // Neither has heard of the other's edit: both are sent on rev 1.
    type(docA, [{ retain: 5 }, { insert: ' Ann' }]);
    type(docB, [{ retain: 5 }, { insert: ' Bob' }]);
    await Promise.all([docSynced(a.sync, 'page', 3), docSynced(b.sync, 'page', 3)]);
    await Promise.all([atRev(docA, 3), atRev(docB, 3)]);

    expect(docB.state).toEqual(docA.state);
    expect(['Hello Ann Bob\n', 'Hello Bob Ann\n']).toContain(plainText(docA.state.body));
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('should write the whole text in an LWW doc, where the later of two concurrent edits wins it all', async () => {
    // A's clock is a minute behind, so B's edit is the later one whichever reaches the server last.
    const { a, b, docA, docB } = await twoEditors('lww-page', 'Hello', 'lww', { clock: () => Date.now() - 60_000 });
    a.sync.disconnect();
    type(docA, [{ retain: 5 }, { insert: ' Ann' }]);
    await docA.flush();
    expect(await a.patches.store.getPendingOps('lww-page')).toEqual([expect.objectContaining({ op: 'replace', path: '/body', value: text('Hello Ann\n') })]);
    type(docB, [{ insert: '> ' }]);
    await docSynced(b.sync, 'lww-page', 2);
    await a.sync.connect();
    await when(docA.state$, (state) => plainText(state.body) === '> Hello\n');
    await docSynced(a.sync, 'lww-page', 2);

    // Written whole, B's text replaced A's: A's " Ann" is gone on both.
    expect(docB.state).toEqual(docA.state);
    const history = await serverHistory(a, 'lww-page');
    expect(history.flatMap((change) => change.ops)).toEqual([expect.objectContaining({ op: 'replace', path: '/body', value: text('> Hello\n') })]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  describe('typing while a removal the server transforms to nothing is in flight', () => {
    interface Board {
      cards?: { id: string; body: TextDocument }[];
    }
    const ids = ['K0', 'K1', 'K2', 'K3'];

    /**
     * A removed card K1 offline, B removed it too and committed first; A's removal is held by the
     * server's `authorize` while A types into the card at `index` (K2 or K3), then released. The
     * server drops A's removal as redundant (its reply holds only B's), and A's typing, written on
     * top of that removal, must land in the card it was typed into.
     */
    it.each([
      [1, 'K2'],
      [2, 'K3'],
    ])('should keep text typed into cards[%i] (%s) in that card', async (index, target) => {
      let hold: { held: () => void; release: Promise<void> } | undefined;
      const held = await startHarness({
        authorize: async (_connection, method, docId) => {
          const holding = hold;
          if (method === 'commitChanges' && docId === 'board' && holding) {
            holding.held();
            await holding.release;
          }
          return true;
        },
      });
      try {
        const [a, b] = await Promise.all([held.connected(), held.connected()]);
        const docA = await a.patches.openDoc<Board>('board');
        docA.change((draft) => {
          draft.cards = ids.map((id) => ({ id, body: text(`${id}\n`) }));
        });
        await docSynced(a.sync, 'board', 1);
        const docB = await b.patches.openDoc<Board>('board');
        await docSynced(b.sync, 'board', 1);
        await when(docB.state$, (state) => state.cards !== undefined);

        a.sync.disconnect();
        docA.change((draft) => void draft.cards!.splice(1, 1));
        await docA.flush();
        docB.change((draft) => void draft.cards!.splice(1, 1));
        await docSynced(b.sync, 'board', 2);

        let release!: () => void;
        const isHeld = new Promise<void>((resolve) => {
          hold = { held: resolve, release: new Promise<void>((done) => (release = done)) };
        });
        await a.sync.connect();
        await isHeld;
        hold = undefined;
        expect(docA.state.cards!.map((card) => card.id)).toEqual(['K0', 'K2', 'K3']);
        docA.change((draft) => {
          const card = draft.cards![index];
          card.body = editText(card.body, [{ insert: 'typed by A ' }]);
        });
        await docA.flush();
        release();

        await docSynced(a.sync, 'board', 2);
        await docSynced(b.sync, 'board', docA.committedRev);
        await when(docB.state$, () => docB.committedRev >= docA.committedRev);
        const typedIn = (client: TestClient, doc: PatchesDoc<Board>) => {
          expect(client.errors).toEqual([]);
          return doc.state.cards!.filter((card) => plainText(card.body).includes('typed by A')).map((card) => card.id);
        };
        expect(typedIn(a, docA)).toEqual([target]);
        expect(typedIn(b, docB)).toEqual([target]);
        expect(docB.state).toEqual(docA.state);
        expect(docA.state.cards!.map((card) => card.id)).toEqual(['K0', 'K2', 'K3']);
        // A's removal was committed by no one but B: the history holds one removal and the typing.
        expect((await serverHistory(a, 'board')).length).toBe(3);
      } finally {
        await held.close();
      }
    });
  });
});
