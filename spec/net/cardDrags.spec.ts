import { applyPatch } from '../../src/algorithms/applyPatch.js';
import type { TextDocument } from '../../src/algorithms/deltaOps.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { editText } from '../../src/txt/editText.js';
import { enableRichText } from '../../src/txt/enableRichText.js';
import type { Change } from '../../src/types.js';
import { firstValueFrom } from 'rxjs';
import { docSynced, serverHistory, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';
import { plainText } from '../helpers/plainText.js';

/**
 * A kanban card dragged (`splice` out, `splice` or `push` back in) while another user edits it,
 * drags it too, removes it, or inserts a card before it: through a real server on loopback, both
 * commit orders. An OT doc records the drag as a `move`, so the edit follows the card and the
 * card stays once; recorded as a `remove` and an `add` of the card, the add carried its old
 * value (the edit was lost) and two drags left it twice.
 */
interface Card {
  id: string;
  title?: string;
  body: TextDocument;
}
interface Board {
  cards: Card[];
  done?: Card[];
}
type Recipe = (draft: Board) => void;

const card = (id: string): Card => ({ id, title: id.toLowerCase(), body: { ops: [{ insert: `${id}\n` }] } });
const ids = (cards: Card[] | undefined): string => (cards ?? []).map((c) => c.id).join(' ');
const drag = (from: number, to: number): Recipe => (draft) => void draft.cards.splice(to, 0, ...draft.cards.splice(from, 1));
const dragToEnd = (from: number): Recipe => (draft) => void draft.cards.push(...draft.cards.splice(from, 1));
const typeInto = (at: number): Recipe => (draft) => void (draft.cards[at].body = editText(draft.cards[at].body, [{ insert: 'B ' }]));

let harness: SyncHarness;

beforeAll(() => enableRichText());

beforeEach(async () => {
  harness = await startHarness();
});

afterEach(async () => {
  await harness.close();
});

/** The doc's head on the server: its snapshot with the committed tail applied, and the head's rev. */
async function onServer(client: TestClient, docId: string): Promise<{ state: Board; rev: number }> {
  const envelope = await firstValueFrom(client.sync.call<{ state: Board | null; rev: number; changes: Change[] }>('getDoc', docId));
  const state = applyPatch(envelope.state ?? {}, envelope.changes.flatMap((change) => change.ops), { mode: 'strict' }) as Board;
  return { state, rev: envelope.changes.at(-1)?.rev ?? envelope.rev };
}

/** Resolves once the doc shows the committed state at `rev` (or later). */
const atRev = (doc: PatchesDoc<Board>, rev: number) => when(doc.state$, () => doc.committedRev >= rev);

/**
 * Two clients with a board of K0 K1 K2 (and an empty `done` column) at rev 1; each makes its edit
 * offline, then one connects and commits, then the other: the second's edit is transformed over
 * the first's. Returns both views and the server's, once all three are at the server's head.
 */
async function concurrently(docId: string, editA: Recipe, editB: Recipe, bFirst: boolean) {
  const [a, b] = await Promise.all([harness.connected(), harness.connected()]);
  const docA = await a.patches.openDoc<Board>(docId);
  docA.change((draft) => {
    draft.cards = ['K0', 'K1', 'K2'].map(card);
    draft.done = [];
  });
  await docSynced(a.sync, docId, 1);
  const docB = await b.patches.openDoc<Board>(docId);
  await docSynced(b.sync, docId, 1);
  await when(docB.state$, (state) => Array.isArray(state.cards));
  a.sync.disconnect();
  b.sync.disconnect();
  docA.change(editA);
  docB.change(editB);
  await Promise.all([docA.flush(), docB.flush()]);
  const [first, second] = bFirst ? [b, a] : [a, b];
  await first.sync.connect();
  await docSynced(first.sync, docId, 2);
  await second.sync.connect();
  await docSynced(second.sync, docId, 2);
  const server = await onServer(a, docId);
  await Promise.all([docSynced(a.sync, docId, server.rev), docSynced(b.sync, docId, server.rev), atRev(docA, server.rev), atRev(docB, server.rev)]);
  expect(docA.state).toEqual(server.state);
  expect(docB.state).toEqual(server.state);
  expect([...a.errors, ...b.errors]).toEqual([]);
  return { state: server.state, history: await serverHistory(a, docId) };
}

describe.each([
  ['A commits first', false],
  ['B commits first', true],
])('a dragged card through the server (%s)', (_order, bFirst) => {
  it('should keep B’s typing (editText) in the card A dragged to the end, at its new place', async () => {
    const { state, history } = await concurrently('typing', dragToEnd(0), typeInto(0), bFirst);
    expect(ids(state.cards)).toBe('K1 K2 K0');
    expect(plainText(state.cards[2].body)).toBe('B K0\n');
    expect(history.flatMap((change) => change.ops.map((op) => op.op))).toEqual(expect.arrayContaining(['move', '@txt']));
  });

  it('should keep B’s plain replace of a field of the card A dragged to the front', async () => {
    const { state } = await concurrently('title', drag(2, 0), (draft) => void (draft.cards[2].title = 'T'), bFirst);
    expect(ids(state.cards)).toBe('K2 K0 K1');
    expect(state.cards[0]).toEqual({ ...card('K2'), title: 'T' });
  });

  it('should keep B’s typing in a card A dragged into another column', async () => {
    const { state } = await concurrently('column', (draft) => void draft.done!.push(...draft.cards.splice(1, 1)), typeInto(1), bFirst);
    expect([ids(state.cards), ids(state.done)]).toEqual(['K0 K2', 'K1']);
    expect(plainText(state.done![0].body)).toBe('B K1\n');
  });

  it('should leave a card two users dragged at once there once', async () => {
    const { state } = await concurrently('twice', dragToEnd(0), drag(0, 1), bFirst);
    expect(state.cards.filter((c) => c.id === 'K0')).toHaveLength(1);
    expect(ids(state.cards).split(' ').sort()).toEqual(['K0', 'K1', 'K2']);
  });

  it('should let a removal of the dragged card win, and keep a card inserted before it where B put it', async () => {
    expect(ids((await concurrently('removed', dragToEnd(0), (draft) => void draft.cards.splice(0, 1), bFirst)).state.cards)).toBe('K1 K2');
    const inserted = await concurrently('inserted', drag(2, 0), (draft) => void draft.cards.splice(2, 0, card('X')), bFirst);
    expect(ids(inserted.state.cards)).toBe('K2 K0 K1 X');
  });
});
