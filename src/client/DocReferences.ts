import type { OpenDocOptions } from './Patches.js';
import type { PatchesDoc } from './PatchesDoc.js';

/**
 * An `openDoc` under way, then the handle it opened: the references the app holds on it, and what
 * came before it resolved.
 */
export interface Opening {
  docId: string;
  handle: Promise<PatchesDoc<object>>;
  /** The `openDoc` calls (and `doc$` subscriptions) holding it that no `closeDoc` released yet. */
  refs: number;
  /** Those of `refs` that `openDoc` calls took: the ones a `closeDoc` releases (a `doc$` subscription releases its own). */
  opens: number;
  /** The handle, once open (it may have been closed since: see `release`). */
  doc?: PatchesDoc<object>;
  /** Its last reference was released (or `close()`, or a forced `closeDoc`, came): the handle is handed out closed. */
  closed: boolean;
  /** An untrack or delete of the doc was called after it (see `callOff`): the open rejects, even if the untrack then failed. */
  gone?: 'untracked' | 'deleted';
  /** The open it waits for, while that one is under way: called off with it. */
  previous?: Opening;
  /** The options of the call that started it (`load` applies those; a later call's are checked: `Patches.joinRefusal`). */
  options: OpenDocOptions;
}

/** What `DocReferences` asks of the `Patches` instance whose handles it counts. */
export interface DocHandles {
  /** The doc's open handle, if it is open. */
  openHandle(docId: string): PatchesDoc<object> | undefined;
  /** Reads the doc's handle for `opening` (calling `DocReferences.opened` once it is open), or rejects. */
  load(docId: string, options: OpenDocOptions, opening: Opening): Promise<PatchesDoc<object>>;
  /** Closes the doc's open handle (or waits for the one closing). */
  closeHandle(docId: string): Promise<void>;
}

/**
 * The references `openDoc` calls and `doc$` subscriptions hold on each doc's handle, and the
 * `closeDoc` calls owed. A doc stays open until its last reference is released; two views of one
 * doc each hold their own, so one view's `closeDoc` never closes the other's doc. An `openDoc`
 * whose reference was dropped without its `closeDoc` (a forced close, an untrack or delete) or that
 * rejected still owes that call: the doc's next plain `closeDoc` calls pay those debts off, doing
 * nothing else, before one releases a reference of a later open, or a view's doc would be closed
 * under it by another view's late `closeDoc`. Kept apart from `Patches`, which loads and closes the
 * handles (`DocHandles`) and decides what an open may join (`Patches.joinRefusal`).
 *
 * @example
 * const references = new DocReferences(handles);
 * const opening = references.open('notes', {}); // an openDoc's reference
 * const doc = await opening.handle;
 * await references.close('notes', false);       // its closeDoc: the last reference, the handle closes
 */
export class DocReferences {
  /** Per doc, the open under way (until it settles). */
  private readonly opening = new Map<string, Opening>();
  /** The open that made each open handle, which counts its references. */
  private readonly openedBy = new WeakMap<PatchesDoc<object>, Opening>();
  /**
   * Per doc, the `closeDoc` calls still owed by `openDoc` calls whose references were dropped
   * without them (see `owe`): the next plain `closeDoc` calls pay these off before any releases a
   * reference of the open after them. A doc's entry goes at zero.
   */
  private readonly owed = new Map<string, number>();

  constructor(private readonly handles: DocHandles) {}

  /** Takes a reference for an `openDoc` call: one its `closeDoc` releases (see `hold`). */
  open(docId: string, options: OpenDocOptions): Opening {
    const opening = this.hold(docId, options);
    opening.opens++;
    return opening;
  }

  /**
   * Takes a reference on the doc's open handle, or on the open under way, starting one if there
   * is none (or the one under way will hand out no open handle: closed, or called off). Its taker
   * releases it (`release`), as a `doc$` subscription does; `open` counts it among the `opens` a
   * `closeDoc` releases.
   */
  hold(docId: string, options: OpenDocOptions): Opening {
    const open = this.handles.openHandle(docId);
    let opening = open ? this.openedBy.get(open) : this.opening.get(docId);
    // One that a closeDoc, untrack or delete called since will hand out no open handle (or whose
    // handle was closed as soon as it opened): this call, later, starts anew.
    if (!opening || (!open && (opening.closed || opening.gone || opening.doc))) opening = this.startOpening(docId, options, opening);
    opening.refs++;
    return opening;
  }

  /** The open's handle is open: it counts the handle's references from now on. */
  opened(opening: Opening, doc: PatchesDoc<object>): void {
    this.openedBy.set(doc, opening);
    opening.doc = doc;
  }

  /**
   * An `openDoc` call was refused the handle it joined: it takes no reference, and its `closeDoc`
   * is owed, as any rejected open's; `undefined` if it was owed already (`owe`).
   */
  refused(opening: Opening): Promise<void> | undefined {
    if (opening.opens === 0) return undefined;
    opening.opens--;
    this.owed.set(opening.docId, (this.owed.get(opening.docId) ?? 0) + 1);
    return this.release(opening, 1);
  }

  /**
   * A `closeDoc` call: pays off a debt (see `owe`), or releases the reference of one `openDoc`
   * call (with `force`, every reference, their `closeDoc` calls then owed). `undefined` when it
   * paid a debt or the doc is neither open nor opening: the caller waits for a close under way.
   */
  close(docId: string, force: boolean): Promise<void> | undefined {
    const open = this.handles.openHandle(docId);
    const opening = open ? this.openedBy.get(open) : this.opening.get(docId);
    // The closeDoc of an openDoc whose reference was dropped without it: the current open's are not its to release.
    if (!force && this.payDebt(docId)) return undefined;
    // Not open, nor opening (an open that has just opened and been closed is done).
    if (!opening || (!open && opening.doc)) return undefined;
    if (force) {
      this.owe(opening);
      return this.release(opening, opening.refs);
    }
    // No openDoc holds it (a doc$ subscription releases its own reference): nothing to release.
    const own = Math.min(opening.opens, 1);
    opening.opens -= own;
    return this.release(opening, own);
  }

  /**
   * Releases `refs` references on `opening`; the last one closes its handle, unless it was closed
   * otherwise since (an untrack), or makes the open under way hand it out closed. Releasing more
   * than it holds does nothing more.
   */
  release(opening: Opening, refs: number): Promise<void> {
    opening.refs = Math.max(0, opening.refs - refs);
    if (opening.refs > 0) return Promise.resolve();
    if (!opening.doc) {
      opening.closed = true;
      return opening.handle.then(noop, noop);
    }
    return this.handles.openHandle(opening.docId) === opening.doc ? this.handles.closeHandle(opening.docId) : Promise.resolve();
  }

  /**
   * Makes every open of the doc under way reject (`Patches.load` reads `gone`), the ones it waits
   * for too: an untrack or delete came after them, and the later call wins. Their `openDoc` calls
   * owe their `closeDoc`.
   */
  callOff(docId: string, how: 'untracked' | 'deleted'): void {
    for (let opening = this.opening.get(docId); opening; opening = opening.previous) {
      opening.gone = how;
      this.owe(opening);
    }
  }

  /** The doc's open handle is closed whatever its references: their `openDoc` calls owe their `closeDoc` (`owe`). */
  oweOpen(docId: string): void {
    const doc = this.handles.openHandle(docId);
    const opening = doc && this.openedBy.get(doc);
    if (opening) this.owe(opening);
  }

  /** The docs with an open under way. */
  underWay(): IterableIterator<string> {
    return this.opening.keys();
  }

  /** Forgets every debt: no `openDoc` comes any more (`Patches.close`), so a `closeDoc` owed has no later open to spare. */
  forgetDebts(): void {
    this.owed.clear();
  }

  /** Starts loading a doc's handle, after the open under way (`previous`, closed or gone), if any. */
  private startOpening(docId: string, options: OpenDocOptions, previous?: Opening): Opening {
    // That open cleans up after itself when it settles (its metadata): this one comes after it.
    const before = previous ? previous.handle.then(noop, noop) : Promise.resolve();
    const opening: Opening = {
      docId,
      handle: before
        .then(() => {
          opening.previous = undefined;
          return this.handles.load(docId, options, opening);
        })
        .catch(error => {
          // Its openDoc calls reject, and a closeDoc each of them is matched with pays their debt.
          this.owe(opening);
          throw error;
        })
        .finally(() => {
          if (this.opening.get(docId) === opening) this.opening.delete(docId);
        }),
      refs: 0,
      opens: 0,
      closed: false,
      previous,
      options,
    };
    this.opening.set(docId, opening);
    return opening;
  }

  /**
   * Drops the references `openDoc` calls hold on `opening` without their `closeDoc`: the doc is
   * closed (or its open called off) whatever their number. Each of them still owes that
   * `closeDoc`, which must not release a reference of a later open of the doc: it is noted in
   * `owed`, for `close` to pay off.
   */
  private owe(opening: Opening): void {
    if (opening.opens === 0) return;
    this.owed.set(opening.docId, (this.owed.get(opening.docId) ?? 0) + opening.opens);
    opening.refs -= opening.opens;
    opening.opens = 0;
  }

  /** Pays off one `closeDoc` owed on the doc, if any is (see `owe`). */
  private payDebt(docId: string): boolean {
    const owed = this.owed.get(docId);
    if (!owed) return false;
    if (owed > 1) this.owed.set(docId, owed - 1);
    else this.owed.delete(docId);
    return true;
  }
}

function noop(): void {}
