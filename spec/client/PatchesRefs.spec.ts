import 'fake-indexeddb/auto';
import { Subject, filter, firstValueFrom, switchMap } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { Patches } from '../../src/client/Patches.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { DocNotTrackedError, StoreError } from '../../src/errors.js';
import { purgeDeletedDoc } from '../../src/net/purgeDeletedDoc.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { failingStore } from '../helpers/failingStore.js';
import { createTestScheduler } from '../helpers/marbles.js';

type Note = { n?: number };

/** Whether a handle is closed: its `change()` refuses. */
function isClosed(doc: PatchesDoc<Note>): boolean {
  try {
    doc.change(draft => void (draft.n = (draft.n ?? 0) + 1));
    return false;
  } catch (error) {
    return /closed/.test((error as Error).message);
  }
}

describe('Patches references (openDoc, closeDoc)', () => {
  it('should keep a doc opened twice open for the second holder when the first closes it, and close it on the last closeDoc', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const [first, second] = await Promise.all([patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc')]);
    expect(first).toBe(second);
    let completed = false;
    second.state$.subscribe({ complete: () => (completed = true) });
    await patches.closeDoc('doc'); // the first view goes
    expect(patches.getOpenDoc('doc')).toBe(second);
    expect(completed).toBe(false);
    second.change(draft => void (draft.n = 1));
    await second.flush();
    expect(second.state).toEqual({ n: 1 });
    await patches.closeDoc('doc'); // the last one
    expect(patches.getOpenDoc('doc')).toBeUndefined();
    expect(completed).toBe(true);
    await patches.close();
  });

  it('should count an openDoc of a doc open already as one more reference', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const doc = await patches.openDoc<Note>('doc');
    expect(await patches.openDoc<Note>('doc')).toBe(doc);
    await patches.closeDoc('doc');
    expect(isClosed(doc)).toBe(false);
    await patches.closeDoc('doc');
    expect(isClosed(doc)).toBe(true);
    await patches.close();
  });

  it('should do nothing on a closeDoc of a doc not open, nor on one more than the openDoc calls', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    await patches.closeDoc('never-opened');
    expect(patches.trackedDocs.has('never-opened')).toBe(false);
    const old = await patches.openDoc<Note>('doc');
    await patches.closeDoc('doc');
    await patches.closeDoc('doc'); // one too many: owes nothing to the next open
    const fresh = await patches.openDoc<Note>('doc');
    expect(fresh).not.toBe(old);
    await patches.closeDoc('never-opened');
    expect(isClosed(fresh)).toBe(false);
    expect(patches.getOpenDoc('doc')).toBe(fresh);
    await patches.close();
  });

  it('should close a doc on a forced closeDoc, whatever the number of references', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const [doc] = await Promise.all([patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc')]);
    await patches.closeDoc('doc', { force: true });
    expect(patches.getOpenDoc('doc')).toBeUndefined();
    expect(isClosed(doc)).toBe(true);
    expect(patches.trackedDocs.has('doc')).toBe(true);
    await patches.close();
  });

  describe('when a doc is opening', () => {
    it('should release the reference of one open under way on a closeDoc, handing the others the open handle', async () => {
      const patches = new Patches({ store: new InMemoryStore() });
      const opens = [patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc')];
      const closing = patches.closeDoc('doc');
      const [first, second] = await Promise.all(opens);
      await closing;
      expect(first).toBe(second);
      expect(patches.getOpenDoc('doc')).toBe(first);
      expect(isClosed(first)).toBe(false);
      await patches.closeDoc('doc');
      expect(isClosed(first)).toBe(true);
      await patches.close();
    });

    it('should hold a doc opened, closed and opened again in one turn (React StrictMode) with one reference', async () => {
      const patches = new Patches({ store: new InMemoryStore() });
      const [first, , second] = await Promise.all([patches.openDoc<Note>('doc'), patches.closeDoc('doc'), patches.openDoc<Note>('doc')]);
      expect(isClosed(first)).toBe(true);
      expect(patches.getOpenDoc('doc')).toBe(second);
      await patches.closeDoc('doc');
      expect(isClosed(second)).toBe(true);
      await patches.close();
    });

    it('should take no reference for an openDoc an untrack called off: its closeDoc is owed, and the open after it holds the one', async () => {
      const patches = new Patches({ store: new InMemoryStore() });
      const [first, , second] = await Promise.allSettled([patches.openDoc<Note>('doc'), patches.untrackDocs(['doc']), patches.openDoc<Note>('doc')]);
      expect(first).toEqual({ status: 'rejected', reason: expect.any(DocNotTrackedError) });
      const doc = (second as PromiseFulfilledResult<PatchesDoc<Note>>).value;
      await patches.closeDoc('doc'); // the first view's, paired with its rejected open
      expect(isClosed(doc)).toBe(false);
      await patches.closeDoc('doc');
      expect(isClosed(doc)).toBe(true);
      await patches.close();
    });
  });

  describe('what closes a doc whatever its references', () => {
    const removals: Array<[string, (patches: Patches) => Promise<unknown>]> = [
      ['untrackDocs', patches => patches.untrackDocs(['doc'])],
      ['deleteDoc', patches => patches.deleteDoc('doc')],
      ['a delete on the server', patches => patches._dropDoc('doc', () => purgeDeletedDoc(patches.store, 'doc'))],
      ['close()', patches => patches.close()],
    ];
    for (const [what, remove] of removals) {
      it(`should close a doc opened twice on ${what}`, async () => {
        const patches = new Patches({ store: new InMemoryStore() });
        const [doc] = await Promise.all([patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc')]);
        await remove(patches);
        expect(patches.getOpenDoc('doc')).toBeUndefined();
        expect(isClosed(doc)).toBe(true);
        await patches.close();
      });
    }

    it("should close a doc opened twice when another instance on the database untracks it, and hold a new one's references afresh", async () => {
      const db = `refs-${Date.now()}-${Math.random()}`;
      const a = new Patches({ store: new IndexedDBStore(db) });
      const b = new Patches({ store: new IndexedDBStore(db) });
      const [doc] = await Promise.all([a.openDoc<Note>('doc'), a.openDoc<Note>('doc')]);
      const untracked = firstValueFrom(a.untracked$.pipe(filter(ids => ids.includes('doc'))));
      await b.ready;
      await b.untrackDocs(['doc']);
      await untracked;
      expect(a.getOpenDoc('doc')).toBeUndefined();
      expect(isClosed(doc)).toBe(true);
      const fresh = await a.openDoc<Note>('doc');
      await a.closeDoc('doc'); // the two earlier holders' closeDoc: owed, not the new view's
      await a.closeDoc('doc');
      expect(isClosed(fresh)).toBe(false);
      await a.closeDoc('doc');
      expect(isClosed(fresh)).toBe(true);
      await a.close();
      await b.close();
    });
  });
});

describe('Patches references dropped without their closeDoc (owed)', () => {
  it("should not close a later view's doc with the closeDoc of a view whose doc was force-closed", async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    await patches.openDoc<Note>('doc'); // view A
    await patches.closeDoc('doc', { force: true }); // "close all"
    const c = await patches.openDoc<Note>('doc'); // view C
    await patches.closeDoc('doc'); // view A goes
    expect(isClosed(c)).toBe(false);
    expect(patches.getOpenDoc('doc')).toBe(c);
    await patches.closeDoc('doc'); // view C goes
    expect(isClosed(c)).toBe(true);
    await patches.close();
  });

  it('should owe the closeDoc of every holder of a force-closed doc, paid before a reference of the open after it', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    await Promise.all([patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc')]); // views A and B
    await patches.closeDoc('doc', { force: true });
    const opening = patches.openDoc<Note>('doc'); // view C
    const closing = [patches.closeDoc('doc'), patches.closeDoc('doc')]; // A and B go, before C's open resolved
    const c = await opening;
    await Promise.all(closing);
    expect(isClosed(c)).toBe(false);
    await patches.closeDoc('doc');
    expect(isClosed(c)).toBe(true);
    await patches.close();
  });

  it('should owe nothing for a doc$ subscription on a force-closed doc, and leave its reference to it', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const subscription = patches.doc$<Note>('doc').subscribe();
    const doc = await patches.openDoc<Note>('doc');
    await patches.closeDoc('doc');
    await patches.closeDoc('doc'); // no openDoc holds it: the subscription's reference is its own
    expect(isClosed(doc)).toBe(false);
    await patches.closeDoc('doc', { force: true });
    subscription.unsubscribe();
    const c = await patches.openDoc<Note>('doc');
    await patches.closeDoc('doc');
    expect(isClosed(c)).toBe(true);
    await patches.close();
  });

  const removals: Array<[string, (patches: Patches) => Promise<unknown>]> = [
    ['untrackDocs', patches => patches.untrackDocs(['doc'])],
    ['deleteDoc', patches => patches.deleteDoc('doc')],
    ['a delete on the server', patches => patches._dropDoc('doc', () => purgeDeletedDoc(patches.store, 'doc'))],
  ];
  for (const [what, remove] of removals) {
    it(`should not close the next open of a doc with the closeDoc calls of its holders before ${what}`, async () => {
      const patches = new Patches({ store: new InMemoryStore() });
      await Promise.all([patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc')]); // views A and B
      await remove(patches);
      const c = await patches.openDoc<Note>('doc'); // view C
      await patches.closeDoc('doc'); // A goes
      await patches.closeDoc('doc'); // B goes
      expect(isClosed(c)).toBe(false);
      await patches.closeDoc('doc');
      expect(isClosed(c)).toBe(true);
      await patches.close();
    });
  }

  it('should not close the open after an open an untrack called off with the closeDoc paired with the rejected one', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const a = patches.openDoc<Note>('doc');
    const untracking = patches.untrackDocs(['doc']);
    const b = patches.openDoc<Note>('doc');
    await a.catch(() => patches.closeDoc('doc')); // view A's cleanup
    const doc = await b;
    expect(isClosed(doc)).toBe(false);
    await untracking;
    await patches.closeDoc('doc');
    expect(isClosed(doc)).toBe(true);
    await patches.close();
  });

  it('should owe the closeDoc of an open called off even when it comes before the open rejected', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const a = patches.openDoc<Note>('doc').catch((error: unknown) => error);
    const untracking = patches.untrackDocs(['doc']);
    const b = patches.openDoc<Note>('doc');
    const closing = patches.closeDoc('doc'); // view A goes before its open settled
    expect(await a).toBeInstanceOf(DocNotTrackedError);
    const doc = await b;
    await Promise.all([closing, untracking]);
    expect(isClosed(doc)).toBe(false);
    await patches.closeDoc('doc');
    expect(isClosed(doc)).toBe(true);
    await patches.close();
  });

  it('should owe the closeDoc of every openDoc of an open the store failed', async () => {
    const store = failingStore();
    const patches = new Patches({ store });
    store.failNext('getDoc');
    const failed = await Promise.allSettled([patches.openDoc<Note>('doc'), patches.openDoc<Note>('doc')]);
    expect(failed.map(result => result.status)).toEqual(['rejected', 'rejected']);
    const doc = await patches.openDoc<Note>('doc');
    await patches.closeDoc('doc'); // the failed opens' closeDoc
    await patches.closeDoc('doc');
    expect(isClosed(doc)).toBe(false);
    await patches.closeDoc('doc');
    expect(isClosed(doc)).toBe(true);
    await patches.close();
  });
});

describe('Patches.doc$', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should emit a doc open already at once, never complete, and leave it open for its other holder when unsubscribed', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const doc = await patches.openDoc<Note>('doc');
    testScheduler.run(({ expectObservable }) => {
      const unsub = '   ---!';
      const expected = 'd---';
      expectObservable(patches.doc$<Note>('doc'), unsub).toBe(expected, { d: doc });
    });
    expect(patches.getOpenDoc('doc')).toBe(doc);
    expect(isClosed(doc)).toBe(false);
    await patches.closeDoc('doc');
    expect(isClosed(doc)).toBe(true);
    await patches.close();
  });

  it('should switch between docs open already, emitting each as its id comes', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const [a, b] = await Promise.all([patches.openDoc<Note>('a'), patches.openDoc<Note>('b')]);
    testScheduler.run(({ cold, expectObservable }) => {
      const ids = cold(' a--b--a|');
      const expected = 'a--b--a-';
      expectObservable(ids.pipe(switchMap(id => patches.doc$<Note>(id)))).toBe(expected, { a, b });
    });
    // Each subscription released its own reference: the app's still hold them.
    expect([patches.getOpenDoc('a'), patches.getOpenDoc('b')]).toEqual([a, b]);
    await patches.close();
  });

  it('should error at once with the StoreError openDoc rejects with after close()', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    await patches.close();
    testScheduler.run(({ expectObservable }) => {
      const expected = '#';
      expectObservable(patches.doc$('doc')).toBe(expected, undefined, new StoreError('Cannot open "doc": this Patches instance is closed', 'doc'));
    });
  });

  it('should leave only the current doc open under switchMap over ids, closing one unsubscribed before its open resolved', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const ids = new Subject<string>();
    const opened = new Subject<PatchesDoc<Note>>();
    const subscription = ids.pipe(switchMap(id => patches.doc$<Note>(id))).subscribe(opened);
    const show = (id: string) => {
      const next = firstValueFrom(opened);
      ids.next(id);
      return next;
    };
    const a = await show('a');
    expect(patches.getOpenDoc('a')).toBe(a);
    const b = await show('b');
    expect(patches.getOpenDoc('a')).toBeUndefined();
    await patches.closeDoc('a'); // resolves once a's close under way has
    expect(isClosed(a)).toBe(true);
    expect(patches.getOpenDoc('b')).toBe(b);
    // c is switched away from while it is still opening: it opens closed.
    ids.next('c');
    const d = await show('d');
    await patches.closeDoc('c'); // resolves once c's open has
    expect(patches.getOpenDoc('c')).toBeUndefined();
    expect(patches.trackedDocs.has('c')).toBe(true);
    expect(['a', 'b', 'c', 'd'].filter(id => patches.getOpenDoc(id))).toEqual(['d']);
    subscription.unsubscribe();
    expect(patches.getOpenDoc('d')).toBeUndefined();
    await patches.closeDoc('d');
    expect(isClosed(d)).toBe(true);
    await patches.close();
  });

  it('should release only its own reference when unsubscribed before the open resolved', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const opening = patches.openDoc<Note>('doc');
    const subscription = patches.doc$<Note>('doc').subscribe();
    subscription.unsubscribe();
    const doc = await opening;
    expect(patches.getOpenDoc('doc')).toBe(doc);
    expect(isClosed(doc)).toBe(false);
    await patches.close();
  });

  it('should error with the DocNotTrackedError of an open a later untrack called off, and then touch no later open', async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const errors: unknown[] = [];
    const subscription = patches.doc$<Note>('doc').subscribe({ error: error => errors.push(error) });
    const untracking = patches.untrackDocs(['doc']);
    const doc = await patches.openDoc<Note>('doc'); // called after the untrack: it wins
    await untracking;
    expect(errors).toEqual([expect.any(DocNotTrackedError)]);
    subscription.unsubscribe();
    expect(patches.getOpenDoc('doc')).toBe(doc);
    expect(isClosed(doc)).toBe(false);
    await patches.close();
  });
});
