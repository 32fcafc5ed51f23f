import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { AlgorithmMismatchError, ApplyChangesError, MissingChangesError } from '../../src/errors.js';
import { mismatchInCatchUp, mismatchInSnapshot } from '../../src/net/algorithmMismatch.js';
import { DOC_RETRY } from '../../src/net/errorPolicy.js';
import { DOC_REPROBE } from '../../src/net/DocRetries.js';
import type { Change, JSONPatchOp, PatchesSnapshot } from '../../src/types.js';
import { docSynced, startHarness, when, type SyncHarness, type TestClient } from '../helpers/syncHarness.js';

const row = (path: string, value: unknown, rev: number): JSONPatchOp => ({ op: 'replace', path, value, ts: 1_700_000_000_000 + rev, rev });
const change = (baseRev: number, rev: number, ops: JSONPatchOp[]): Change => ({ id: `c${rev}`, baseRev, rev, ops, createdAt: 1, committedAt: 2 });

/** What an LWW server answers `getChangesSince(3)` with after revs 4–6: one change folding them (protocol §1.5.4). */
const lwwCatchUp = [change(3, 6, [row('/theme', 'light', 4), row('/fontSize', 14, 5), row('/lang', 'de', 6)])];
/** An OT doc's changes, one written by a client that opened it as LWW: its ops carry a `ts`, no `rev`. */
const otChanges = [
  change(3, 4, [{ op: 'add', path: '/items/-', value: 'a' }]),
  change(4, 5, [{ op: 'replace', path: '/title', value: 'x', ts: 1_700_000_000_000 }]),
  change(5, 6, [{ op: '@inc', path: '/n', value: 1 }]),
];

describe('mismatchInCatchUp', () => {
  it('should name an LWW doc opened as OT when the change a catch-up skipped revs with is LWW rows', () => {
    const error = mismatchInCatchUp('lww-settings', 'ot', lwwCatchUp, new MissingChangesError(4, 6, 3));
    expect(error).toBeInstanceOf(AlgorithmMismatchError);
    expect(error).toMatchObject({ docId: 'lww-settings', openedAs: 'ot', serverAlgorithm: 'lww' });
  });

  it('should leave every other gap as it is: OT changes (an LWW client\'s among them), or a doc opened as LWW', () => {
    for (const gotRev of [4, 5, 6]) expect(mismatchInCatchUp('notes', 'ot', otChanges.slice(gotRev - 4), new MissingChangesError(4, gotRev, 3))).toBeUndefined();
    expect(mismatchInCatchUp('lww-settings', 'lww', lwwCatchUp, new MissingChangesError(4, 6, 3))).toBeUndefined();
    // The gap is at another change than the LWW-looking one.
    expect(mismatchInCatchUp('notes', 'ot', [...otChanges.slice(1), change(6, 7, [row('/a', 1, 7)])], new MissingChangesError(4, 5, 3))).toBeUndefined();
  });
});

describe('mismatchInSnapshot', () => {
  it("should name an LWW doc opened as OT from an LWW server's getDoc: its rows in one change at or below the envelope's rev", () => {
    const envelope: PatchesSnapshot = { state: {}, rev: 6, changes: [change(0, 6, [row('/theme', 'light', 4), row('/lang', 'de', 6)])] };
    expect(mismatchInSnapshot('lww-settings', 'ot', envelope)).toMatchObject({ name: 'AlgorithmMismatchError', docId: 'lww-settings', openedAs: 'ot', serverAlgorithm: 'lww' });
  });

  it('should take an OT envelope (its tail after its rev, an LWW client\'s writes in it or not), a new LWW doc, and any envelope of a doc opened as LWW as they are', () => {
    expect(mismatchInSnapshot('notes', 'ot', { state: null, rev: 3, changes: otChanges })).toBeUndefined();
    expect(mismatchInSnapshot('notes', 'ot', { state: null, rev: 0, changes: [] })).toBeUndefined();
    // Rows after the envelope's rev are a tail OT applies; nothing says they are LWW's.
    expect(mismatchInSnapshot('notes', 'ot', { state: null, rev: 3, changes: [change(3, 4, [row('/a', 1, 4)])] })).toBeUndefined();
    expect(mismatchInSnapshot('lww-settings', 'ot', { state: {}, rev: 0, changes: [] })).toBeUndefined();
    expect(mismatchInSnapshot('lww-settings', 'lww', { state: {}, rev: 6, changes: lwwCatchUp })).toBeUndefined();
  });
});

/** `asyncScheduler`, noting the delay of every timer it is asked for: the doc retry ladder starts with 1 s. */
function timedScheduler(): { scheduler: SchedulerLike; delays: number[] } {
  const delays: number[] = [];
  const schedule = (work: (this: SchedulerAction<unknown>, state?: unknown) => void, delay = 0, state?: unknown): Subscription => {
    delays.push(delay);
    return asyncScheduler.schedule(work, delay, state);
  };
  const scheduler: SchedulerLike = { now: () => asyncScheduler.now(), schedule: schedule as SchedulerLike['schedule'] };
  return { scheduler, delays };
}

/** Each time the doc's status enters 'error' (a failed run), `runs.failed` counts one. */
function countFailedRuns(client: TestClient, docId: string): { failed: number } {
  const runs = { failed: 0 };
  let last: string | undefined;
  client.sync.synced$.subscribe(synced => {
    if (synced[docId]?.status === 'error' && last !== 'error') runs.failed++;
    last = synced[docId]?.status;
  });
  return runs;
}

type Settings = { theme?: string; fontSize?: number; lang?: string };
type Notes = { items?: string[]; title?: string; n?: number };
const ID = 'lww-settings';

describe('a doc opened with the other algorithm than the server syncs it with', () => {
  let harness: SyncHarness;

  beforeEach(async () => {
    harness = await startHarness();
  });

  afterEach(async () => {
    await harness.close();
  });


  // Found in review: 3 of 4 clients that had opened 'lww-settings' without { algorithm: 'lww' }
  // sat in 'error' with "Missing changes", reported twice after every edit of another client.
  it('should report an LWW doc opened as OT once, not retried, where its catch-up failed as "Missing changes", and keep its pending edit', async () => {
    const { scheduler, delays } = timedScheduler();
    const writer = await harness.connected();
    const opener = await harness.connected({ scheduler });
    const doc = await opener.patches.openDoc<Settings>(ID);
    const right = await writer.patches.openDoc<Settings>(ID, { algorithm: 'lww' });
    // While it hears every broadcast, one change at the next rev each, OT takes them.
    right.change(draft => void (draft.theme = 'dark'));
    await docSynced(opener.sync, ID, 1);
    expect(doc.state).toEqual({ theme: 'dark' });

    // Away while the doc moves on by two revs, with an edit of its own.
    opener.sync.disconnect();
    right.change(draft => void (draft.theme = 'light'));
    await docSynced(writer.sync, ID, 2);
    right.change(draft => void (draft.fontSize = 14));
    await docSynced(writer.sync, ID, 3);
    doc.change(draft => void (draft.lang = 'fr'));
    await doc.flush();
    const runs = countFailedRuns(opener, ID);
    await opener.sync.connect();
    await when(opener.sync.synced$, () => runs.failed === 1);

    expect(opener.errors).toHaveLength(1);
    expect(opener.errors[0]).toBeInstanceOf(AlgorithmMismatchError);
    expect(opener.errors[0]).toMatchObject({ docId: ID, openedAs: 'ot', serverAlgorithm: 'lww' });
    expect(opener.errors[0].message).toContain("open it with { algorithm: 'lww' }");
    expect(opener.sync.synced[ID]).toEqual({ committedRev: 1, hasPending: true, status: 'error' });
    // Nothing lost here: the edit is still pending (it also reached the server, below).
    expect((await opener.patches.store.getPendingChanges(ID)).map(c => c.ops.map(op => op.path))).toEqual([['/lang']]);
    expect(doc.state).toEqual({ theme: 'dark', lang: 'fr' });
    // Not retried: no timer of the doc retry ladder (a 'retry' error's first is 1 s), only the
    // background probe of a doc whose edits wait on an error retrying cannot fix (in 8–10 minutes).
    expect(delays.filter(delay => delay === DOC_RETRY.initialDelay)).toEqual([]);
    expect(delays.filter(delay => delay >= 0.8 * DOC_REPROBE.terminal && delay <= DOC_REPROBE.terminal)).toHaveLength(1);

    // Each edit of another client runs it again (the broadcast skips revs it lacks): it fails the same way, unreported.
    right.change(draft => void (draft.theme = 'blue'));
    await when(opener.sync.synced$, () => runs.failed === 2);
    expect(opener.errors).toHaveLength(1);
    expect(delays.filter(delay => delay === DOC_RETRY.initialDelay)).toEqual([]);

    // The correctly configured client is unharmed: the LWW server wrote the OT client's edit as a write of its field.
    await docSynced(writer.sync, ID, 5);
    expect(right.state).toEqual({ theme: 'blue', fontSize: 14, lang: 'fr' });
    expect(writer.errors).toEqual([]);

    // The fix the message names: untracked (a tracked doc keeps its algorithm), opened as LWW.
    await opener.patches.untrackDocs([ID]);
    const fixed = await opener.patches.openDoc<Settings>(ID, { algorithm: 'lww' });
    await docSynced(opener.sync, ID, 5);
    expect(fixed.state).toEqual(right.state);
    expect(opener.errors).toHaveLength(1);
  });

  // Found reproducing the above: it showed `{}` as 'synced' (the LWW server's one change of every row
  // is at the envelope's own rev, which OT took for one it had), then only its own edits.
  it('should report an LWW doc that has rows when opened as OT at once, not show it empty as synced', async () => {
    const writer = await harness.connected();
    const right = await writer.patches.openDoc<Settings>(ID, { algorithm: 'lww' });
    right.change(draft => void (draft.theme = 'dark'));
    await docSynced(writer.sync, ID, 1);
    right.change(draft => void (draft.fontSize = 12));
    await docSynced(writer.sync, ID, 2);

    const opener = await harness.connected();
    const doc = await opener.patches.openDoc<Settings>(ID);
    const settled = await when(opener.sync.synced$, synced => synced[ID]?.status === 'synced' || synced[ID]?.status === 'error');
    expect(settled[ID]).toEqual({ committedRev: 0, hasPending: false, status: 'error' });
    expect(opener.errors).toEqual([expect.any(AlgorithmMismatchError)]);
    expect(doc.state).toEqual({});
  });

  // Found reproducing the above: an OT client's push into an LWW doc it had heard from the start was
  // stored as a row at `/list/-`, which no state takes: its own change came back failing to apply,
  // an ApplyChangesError saying nothing of the cause, then silence (the reload's getDoc found the
  // mismatch, but the doc had reported its error on this connection already).
  it("should report the mismatch after the ApplyChangesError of an OT client's array append into an LWW doc (stored as a row at /list/-), each once", async () => {
    const writer = await harness.connected();
    const opener = await harness.connected();
    const doc = await opener.patches.openDoc<{ list?: string[] }>(ID);
    const right = await writer.patches.openDoc<{ list?: string[] }>(ID, { algorithm: 'lww' });
    right.change(draft => void (draft.list = ['a', 'b']));
    await docSynced(opener.sync, ID, 1);
    const runs = countFailedRuns(opener, ID);
    const told = when(opener.sync.error$, event => event.error instanceof AlgorithmMismatchError);
    doc.change(draft => void draft.list!.push('c'));
    await told;
    expect(opener.errors).toEqual([expect.any(ApplyChangesError), expect.any(AlgorithmMismatchError)]);
    expect(opener.sync.synced[ID]).toEqual({ committedRev: 1, hasPending: true, status: 'error' });
    // Another edit runs it again: the same two failures, reported no more.
    doc.change(draft => void draft.list!.push('d'));
    await when(opener.sync.synced$, () => runs.failed === 2);
    expect(opener.errors).toHaveLength(2);
    // The append is lost for the others too (a known limit: README), who skip that row unharmed.
    await docSynced(writer.sync, ID, 2);
    expect(right.state).toEqual({ list: ['a', 'b'] });
    expect(writer.errors).toEqual([]);
  });

  it('should never report it for an OT doc: one caught up after missed broadcasts or loaded whole, with the writes of a client that opened it as LWW (not reported either: nothing tells)', async () => {
    const [author, lwwOpener, away] = [await harness.connected(), await harness.connected(), await harness.connected()];
    const doc = await author.patches.openDoc<Notes>('notes');
    doc.change(draft => void (draft.items = ['a', 'b']));
    await docSynced(author.sync, 'notes', 1);
    const wrong = await lwwOpener.patches.openDoc<Notes>('notes', { algorithm: 'lww' });
    const awayDoc = await away.patches.openDoc<Notes>('notes');
    await docSynced(away.sync, 'notes', 1);
    away.sync.disconnect();

    // Its LWW writes (ops with a ts) are committed as OT changes, among the author's.
    wrong.change(draft => void (draft.title = 'from LWW'));
    await docSynced(lwwOpener.sync, 'notes', 2);
    doc.change(draft => void draft.items!.splice(0, 0, 'first'));
    await docSynced(author.sync, 'notes', 3);
    wrong.change(draft => void (draft.n = 5));
    await docSynced(lwwOpener.sync, 'notes', 4);

    await away.sync.connect();
    const late = await harness.connected();
    const loaded = await late.patches.openDoc<Notes>('notes');
    await Promise.all([away, late, author, lwwOpener].map(client => docSynced(client.sync, 'notes', 4)));
    const expected = { items: ['first', 'a', 'b'], title: 'from LWW', n: 5 };
    expect([awayDoc.state, loaded.state, doc.state, wrong.state]).toEqual([expected, expected, expected, expected]);
    expect([away, late, author, lwwOpener].flatMap(client => client.errors)).toEqual([]);
  });
});
