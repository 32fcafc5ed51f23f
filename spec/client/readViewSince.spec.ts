import { Patches } from '../../src/client/Patches.js';
import type { AlgorithmContext } from '../../src/client/ClientAlgorithm.js';
import { applyRows, committedUnchanged, readViewSince, type ViewNews } from '../../src/client/readViewSince.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

function committed(id: string, rev: number, ops: JSONPatchOp[]): Change {
  return { id, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 };
}

/** An open doc at rev 1 (`{ list: ['x'] }`), a store that answers `getDocSince` with `rows` (no state), and a context around them. */
async function setUp(rows: Change[], options: { replaced?: boolean } = {}) {
  const store = new InMemoryStore();
  const patches = new Patches({ store });
  const doc = await patches.openDoc<{ list: string[] }>('d');
  await patches.runExclusive('d', () => patches.algorithms.ot.applyServerChanges('d', [committed('s1', 1, [{ op: 'replace', path: '', value: { list: ['x'] } }])]));
  await store.applyServerChanges('d', { state: { list: ['x', 'y'] }, rev: 2, changes: [committed('s2', 2, [{ op: 'add', path: '/list/-', value: 'y' }])] });
  const reads = { since: 0, whole: 0 };
  const getDoc = store.getDoc.bind(store);
  Object.assign(store, {
    getDoc: (docId: string) => (reads.whole++, getDoc(docId)),
    getDocSince: async (docId: string) => {
      reads.since++;
      const queue = await store.getQueue(docId);
      return queue && { ...queue, since: rows };
    },
  });
  let replaced = options.replaced ?? false;
  const ctx = {
    store,
    getOpenDoc: (id: string) => patches.getOpenDoc(id),
    historyReplaced: () => {
      const was = replaced;
      replaced = false;
      return was;
    },
  } as unknown as AlgorithmContext;
  return { patches, doc, ctx, reads };
}

describe('readViewSince', () => {
  it("should apply the rows since the view's rev to the view's own state, without reading the document", async () => {
    const { ctx, reads, doc } = await setUp([committed('s2', 2, [{ op: 'add', path: '/list/-', value: 'y' }])]);
    const news = await readViewSince(ctx, 'd');
    expect(news?.committedState).toEqual({ list: ['x', 'y'] });
    expect(news?.stored.committedRev).toBe(2);
    expect(news?.layers).toBe(doc._layers());
    expect(reads).toEqual({ since: 1, whole: 0 });
  });

  it('should read the whole doc when the rows do not apply to the view', async () => {
    const { ctx, reads } = await setUp([committed('s2', 2, [{ op: 'test', path: '/list/0', value: 'not x' }])]);
    expect((await readViewSince(ctx, 'd'))?.committedState).toEqual({ list: ['x', 'y'] });
    expect(reads).toEqual({ since: 1, whole: 1 });
  });

  it("should read the whole doc when its history was replaced, or when asked", async () => {
    const replaced = await setUp([], { replaced: true });
    expect((await readViewSince(replaced.ctx, 'd'))?.committedState).toEqual({ list: ['x', 'y'] });
    expect(replaced.reads).toEqual({ since: 0, whole: 1 });
    const asked = await setUp([]);
    await readViewSince(asked.ctx, 'd', null, true);
    expect(asked.reads).toEqual({ since: 0, whole: 1 });
  });

  it('should read again when the view changed during the read', async () => {
    const { ctx, reads, doc } = await setUp([committed('s2', 2, [{ op: 'add', path: '/list/-', value: 'y' }])]);
    const layers = doc._layers();
    const read = readViewSince(ctx, 'd');
    doc._update({ ...layers }); // another layers object, as a write of this instance would install
    const news = await read;
    expect(news?.layers).toBe(doc._layers());
    expect(reads.since).toBe(2);
  });

  it('should be undefined for a doc that is not open', async () => {
    const { ctx, patches, reads } = await setUp([]);
    await patches.closeDoc('d');
    expect(await readViewSince(ctx, 'd')).toBeUndefined();
    expect(reads).toEqual({ since: 0, whole: 0 });
  });
});

describe('committedUnchanged', () => {
  const state = { n: 1 };
  const news = (stored: Partial<ViewNews['stored']>, committedState: unknown = state): ViewNews =>
    ({ layers: { committedState: state, committedRev: 2, local: [] }, stored: { committedRev: 2, since: [], ...stored }, committedState }) as unknown as ViewNews;

  it('should hold at the same rev with no rows since and no state handed out, or the view\'s own state handed out', () => {
    expect(committedUnchanged(news({}))).toBe(true);
    expect(committedUnchanged(news({ state }))).toBe(true);
  });

  it('should not hold at another rev, with rows since, or with another state at the same rev (a history that came back to it)', () => {
    expect(committedUnchanged(news({ committedRev: 3 }))).toBe(false);
    expect(committedUnchanged(news({ since: [committed('s3', 3, [])] }))).toBe(false);
    expect(committedUnchanged(news({ state: { n: 2 } }, { n: 2 }))).toBe(false);
  });
});

describe('applyRows', () => {
  it('should apply the rows strictly, and give undefined when they do not apply', () => {
    expect(applyRows(null, [committed('a', 1, [{ op: 'replace', path: '', value: { n: 1 } }])])).toEqual({ n: 1 });
    expect(applyRows({}, [committed('a', 1, [{ op: 'remove', path: '/x' }])])).toEqual({});
    expect(applyRows({ n: 1 }, [committed('a', 1, [{ op: 'test', path: '/n', value: 2 }])])).toBeUndefined();
  });
});
