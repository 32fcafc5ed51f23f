import { DocReferences, type DocHandles, type Opening } from '../../src/client/DocReferences.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';

type Doc = PatchesDoc<object>;

/**
 * The handles of a `Patches` instance, as `DocReferences` sees them: a load waits until the spec
 * resolves it (`finishLoad`), and closes are counted.
 */
class FakeHandles implements DocHandles {
  readonly open = new Map<string, Doc>();
  readonly closed: Doc[] = [];
  readonly loads: { docId: string; opening: Opening; resolve: () => Doc; reject: (error: Error) => void }[] = [];
  references!: DocReferences;

  openHandle(docId: string): Doc | undefined {
    return this.open.get(docId);
  }

  load(docId: string, _options: unknown, opening: Opening): Promise<Doc> {
    return new Promise<Doc>((resolve, reject) => {
      this.loads.push({
        docId,
        opening,
        resolve: () => {
          const doc = { id: docId } as unknown as Doc;
          // As `Patches.load`: a handle whose open was closed meanwhile is handed out closed, never open.
          if (opening.closed) this.closed.push(doc);
          else {
            this.open.set(docId, doc);
            this.references.opened(opening, doc);
          }
          resolve(doc);
          return doc;
        },
        reject,
      });
    });
  }

  closeHandle(docId: string): Promise<void> {
    const doc = this.open.get(docId);
    if (doc) {
      this.open.delete(docId);
      this.closed.push(doc);
    }
    return Promise.resolve();
  }

  /** Resolves the `n`th load, once it has started (loads start after the open before them settles). */
  async finishLoad(n: number): Promise<Doc> {
    while (!this.loads[n]) await Promise.resolve();
    const doc = this.loads[n].resolve();
    await Promise.resolve();
    return doc;
  }
}

function setup(): { handles: FakeHandles; references: DocReferences } {
  const handles = new FakeHandles();
  const references = new DocReferences(handles);
  handles.references = references;
  return { handles, references };
}

describe('DocReferences', () => {
  it('should share one open between two openDoc calls and close the handle on the second closeDoc only', async () => {
    const { handles, references } = setup();
    const first = references.open('a', {});
    const second = references.open('a', {});
    expect(second).toBe(first);
    const doc = await handles.finishLoad(0);
    expect(handles.loads).toHaveLength(1);
    await references.close('a', false);
    expect(handles.open.get('a')).toBe(doc);
    await references.close('a', false);
    expect(handles.open.has('a')).toBe(false);
    expect(handles.closed).toEqual([doc]);
  });

  it('should release nothing on a closeDoc when only a doc$ subscription holds the doc', async () => {
    const { handles, references } = setup();
    const held = references.hold('a', {});
    await handles.finishLoad(0);
    await references.close('a', false);
    expect(handles.open.has('a')).toBe(true);
    await references.release(held, 1);
    expect(handles.open.has('a')).toBe(false);
  });

  it('should make the closeDoc of every openDoc a forced close dropped pay a debt, not close a later open', async () => {
    const { handles, references } = setup();
    references.open('a', {});
    references.open('a', {});
    await handles.finishLoad(0);
    await references.close('a', true);
    expect(handles.open.has('a')).toBe(false);
    // A later view opens the doc anew.
    references.open('a', {});
    const later = await handles.finishLoad(1);
    // The two closeDoc calls the dropped opens owe: paid off, the later view's doc stays open.
    expect(references.close('a', false)).toBeUndefined();
    expect(references.close('a', false)).toBeUndefined();
    expect(handles.open.get('a')).toBe(later);
    await references.close('a', false);
    expect(handles.open.has('a')).toBe(false);
  });

  it('should hand out the handle closed when the last reference goes before the open resolves', async () => {
    const { handles, references } = setup();
    const opening = references.open('a', {});
    const closed = references.close('a', false);
    expect(opening.closed).toBe(true);
    const doc = await handles.finishLoad(0);
    await closed;
    expect(handles.open.has('a')).toBe(false);
    expect(handles.closed).toEqual([doc]);
    // An open after it starts anew, after the closed one.
    const next = references.open('a', {});
    expect(next).not.toBe(opening);
  });

  it('should call off every open under way, the one it waits for too, their closeDoc calls owed', async () => {
    const { references } = setup();
    const first = references.open('a', {});
    void references.close('a', false);
    const second = references.open('a', {}); // waits for the first, which hands its handle out closed
    expect(second.previous).toBe(first);
    references.callOff('a', 'deleted');
    expect([first.gone, second.gone]).toEqual(['deleted', 'deleted']);
    expect([second.refs, second.opens]).toEqual([0, 0]);
    // The second open's closeDoc pays its debt: nothing is released.
    expect(references.close('a', false)).toBeUndefined();
    // An open after the call-off starts anew, behind the one called off.
    const third = references.open('a', {});
    expect(third).not.toBe(second);
    expect([third.previous, third.refs]).toEqual([second, 1]);
  });

  it('should turn a refused openDoc reference into a debt, once', async () => {
    const { handles, references } = setup();
    const opening = references.open('a', {});
    references.open('a', {}); // a view that holds it
    await handles.finishLoad(0);
    const released = references.refused(opening);
    expect(released).toBeDefined();
    await released;
    expect([opening.refs, opening.opens]).toEqual([1, 1]);
    // The refused call's closeDoc pays its debt; the other view's closes the doc.
    expect(references.close('a', false)).toBeUndefined();
    expect(handles.open.has('a')).toBe(true);
    await references.close('a', false);
    expect(handles.open.has('a')).toBe(false);
    expect(references.refused(opening)).toBeUndefined();
  });

  it('should owe the closeDoc of the openDoc calls of an open that rejected', async () => {
    const { handles, references } = setup();
    const opening = references.open('a', {});
    while (!handles.loads[0]) await Promise.resolve();
    handles.loads[0].reject(new Error('store down'));
    await expect(opening.handle).rejects.toThrow('store down');
    references.open('a', {});
    const doc = await handles.finishLoad(1);
    expect(references.close('a', false)).toBeUndefined(); // the rejected open's debt
    expect(handles.open.get('a')).toBe(doc);
  });

  it('should forget every debt on forgetDebts, and name the docs with an open under way', async () => {
    const { handles, references } = setup();
    const a = references.open('a', {});
    const b = references.open('b', {});
    expect([...references.underWay()].sort()).toEqual(['a', 'b']);
    await handles.finishLoad(0);
    await handles.finishLoad(1);
    await Promise.all([a.handle, b.handle]);
    expect([...references.underWay()]).toEqual([]);
    await references.close('a', true);
    references.forgetDebts();
    references.open('a', {});
    await handles.finishLoad(2);
    await references.close('a', false); // no debt left: this closeDoc releases the open's reference
    expect(handles.open.has('a')).toBe(false);
  });

  it('should owe the closeDoc calls of an open handle closed whatever its references (oweOpen)', async () => {
    const { handles, references } = setup();
    references.open('a', {});
    await handles.finishLoad(0);
    references.oweOpen('a');
    await handles.closeHandle('a');
    references.open('a', {});
    await handles.finishLoad(1);
    expect(references.close('a', false)).toBeUndefined();
    expect(handles.open.has('a')).toBe(true);
  });
});
