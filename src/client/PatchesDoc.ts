import { BehaviorSubject, type Observable, distinctUntilChanged, skip } from 'rxjs';
import { Immer, enablePatches, freeze, isDraft, type Draft, type Patch } from 'immer';
import type { AnyDoc, Algorithm, JSONPatchOp, Unsubscriber } from '../types.js';
import { applyPatch } from '../algorithms/applyPatch.js';
import { deepEqual } from '../algorithms/deepEqual.js';
import { currentThenChanges } from '../util/currentThenChanges.js';
import { PatchesError } from '../errors.js';
import { arraysWhole } from '../algorithms/recording/arraysWhole.js';
import { immerPatchesToOps } from '../algorithms/recording/immerPatchesToOps.js';
import { arraysWithHoles, rediffArrays } from '../algorithms/recording/arraysWithHoles.js';
import { recordingTextEdits } from '../algorithms/recording/textEdits.js';
import { textEditOps } from '../algorithms/recording/textEditOps.js';
import { diffStates } from '../algorithms/recording/diffStates.js';
import { mayHideEdits, withoutTextOps } from '../algorithms/recording/hiddenEdits.js';
import { jsonOps } from '../algorithms/jsonValues.js';
import { InOrderEmitter } from '../util/InOrderEmitter.js';

enablePatches();

/** A local edit applied to the view but not yet persisted to the store. */
export interface OptimisticChange {
  /** The stable id the change will be minted with. */
  id: string;
  /** Its ops; rebased in place if server changes arrive before it is minted. */
  ops: JSONPatchOp[];
  /** The `change()` mutator that recorded them: an LWW edit is recorded again when its view turns out old. */
  mutator?: (draft: never) => void;
}

/**
 * What a doc shows: the committed state plus the persisted local layers on top. A view is replaced
 * whole, except that saving the doc's own OT edit appends to `local` and `localIds` in place as it
 * installs the next view (a copy per edit made long offline sessions quadratic): a view read
 * before an await is compared with `doc._layers()` by identity before its arrays are trusted.
 */
export interface DocLayers {
  /** Committed state at `committedRev` (`null` for a new OT doc; the view shows `{}`). */
  committedState: unknown;
  /** Last revision confirmed by the server. */
  committedRev: number;
  /** Persisted local ops in apply order: OT pending changes, or LWW sending + pending ops. */
  local: JSONPatchOp[][];
  /** OT: the ids of the pending changes in `local` (what a guarded write expects the store to hold). */
  localIds?: string[];
  /** The store's `rewinds` when the committed state was read (absent: 0): a guarded write computed on it names it. */
  rewinds?: number;
}

/** How a doc hands local edits to its owner (`Patches`). */
export interface DocOwner {
  /** Turns freshly recorded ops into the ops to keep (LWW stamps `ts` here). */
  prepareOps(doc: PatchesDoc<object>, ops: JSONPatchOp[]): JSONPatchOp[];
  /** Persists an optimistic change; resolves once it is in the store (or was rolled back). */
  submit(doc: PatchesDoc<object>, change: OptimisticChange): Promise<void>;
  /** Mints a stable change id. */
  newId(): string;
}

/** Options of one document handle. */
export interface PatchesDocOptions {
  /** Freeze produced states (immer auto-freeze). Off by default: see the README's measurements. */
  freeze?: boolean | undefined;
}

/**
 * One open document: its state (committed state with pending and optimistic local changes on top),
 * an observable of it, and `change()` to edit it through an immer draft.
 *
 * `change()` applies the edit to `state` at once (optimistic) and hands it to `Patches`, which
 * persists it as a Change before announcing it to `PatchesSync`.
 *
 * @example
 * const doc = await patches.openDoc<{ title?: string }>('notes');
 * const stop = doc.onUpdate(state => console.log(state.title));
 * doc.change(draft => { draft.title = 'Hello'; });
 * await doc.flush(); // persisted
 * stop();
 */
export class PatchesDoc<T extends object = AnyDoc> {
  private layers: DocLayers;
  private optimistic: OptimisticChange[] = [];
  /** Ids of edits rolled back with an earlier one whose save failed, their own saves still queued (`_rollback`). */
  private readonly rolledBack = new Set<string>();
  private readonly subject: BehaviorSubject<T>;
  /** The state shown: ahead of the subject's last value while an emission is under way (see `show`). */
  private view: T;
  private readonly emitter = new InOrderEmitter<T>(state => this.subject.next(state));
  /** `freeze`: every state shown is frozen, not only those `change()` makes (see `shown`). */
  private readonly frozen: boolean;
  /** A mutator is running (a `change()` inside it would be recorded on the state before it). */
  private recording = false;
  private closed = false;
  private readonly immer: Immer;
  private lastSubmit: Promise<void> = Promise.resolve();
  private edits = 0;
  /** An OT op of the view failed strictly when it was last built, so it was built leniently (`viewOf`). */
  private fellBack = false;

  /** The document's state, replaying the current value to each new subscriber (a closed doc's last state, then `complete`). */
  readonly state$: Observable<T>;

  constructor(
    /** The document id. */
    readonly id: string,
    /** The sync algorithm of this document. */
    readonly algorithm: Algorithm,
    layers: DocLayers,
    private readonly owner: DocOwner,
    options: PatchesDocOptions = {},
  ) {
    this.layers = layers;
    this.frozen = options.freeze ?? false;
    this.immer = new Immer({ autoFreeze: this.frozen });
    this.view = this.shown(this.rebuilt());
    this.subject = new BehaviorSubject<T>(this.view);
    this.state$ = currentThenChanges(this.subject).pipe(distinctUntilChanged());
  }

  /** The current state: committed, plus pending and optimistic local changes. Never write into it (frozen with `freeze`): edit through `change()`. */
  get state(): T {
    return this.view;
  }

  /** Last revision confirmed by the server (0 = never synced). */
  get committedRev(): number {
    return this.layers.committedRev;
  }

  /** True while local changes are not yet confirmed by the server. */
  get hasPending(): boolean {
    return this.optimistic.length > 0 || this.layers.local.some(ops => ops.length > 0);
  }

  /** Calls `listener` on every state change (not immediately); returns an unsubscribe function. */
  onUpdate(listener: (state: T) => void): Unsubscriber {
    const subscription = this.state$.pipe(skip(1)).subscribe(listener);
    return () => subscription.unsubscribe();
  }

  /** Calls `listener` with the current state now and on every change; returns an unsubscribe function. */
  subscribe(listener: (state: T) => void): Unsubscriber {
    const subscription = this.state$.subscribe(listener);
    return () => subscription.unsubscribe();
  }

  /**
   * Edits the document through an immer draft. A mutator that changes nothing creates no change;
   * one that throws leaves everything untouched and rethrows. Values are recorded and shown in
   * their JSON form (a `Date` as its ISO string, `NaN` and `±Infinity` as `null`, `-0` as `0`, a
   * class instance as its own fields, an `undefined` field as no field), so declare a date field
   * as a `string` in `T`; a value JSON cannot hold throws `InvalidValueError` and nothing is
   * recorded. Throws a `PatchesError` when the doc is closed. A rich-text field edited with
   * `editText` (`patches-rx/txt`) is recorded as its `@txt` delta in an OT doc, so concurrent
   * typing merges.
   *
   * The recipe edits the draft in place, synchronously, and returns nothing. What an expression
   * body gives by the way is ignored: a number (`d => d.list.push(x)`), a string, a boolean,
   * `null`, the draft or a part of it, the value an assignment wrote (`d => (d.item = { id })`),
   * the array `splice` removed, the element `pop` or `shift` took out; whatever a recipe that
   * changed something returns. A return that would be a lost edit throws `TypeError` and
   * records nothing: a promise (async recipes are not supported: what runs after an `await`
   * would write into a revoked draft), and an object or array that is not the draft from a
   * recipe that changed nothing (a new state, `d => ({ ...d, title })`: immer's replacement is
   * not recorded).
   *
   * A value written into the draft (`draft.item = form`) becomes part of the state by reference
   * (states are not copied or frozen by default): do not mutate it afterwards, as that would
   * change `state` in place, neither recorded nor sent; write a copy, or turn on the doc option
   * `freeze`, which freezes it, so such a write throws.
   *
   * @example
   * doc.change(draft => { draft.items.push({ id: 'a', done: false }); });
   */
  change(mutator: (draft: Draft<T>) => void): void {
    if (this.closed) throw new PatchesError(`Document "${this.id}" is closed: open it again to edit it`);
    if (this.recording) throw new PatchesError(`change() of document "${this.id}" was called inside another change(): make it one change, or the second after the first`);
    const recorded = this.record(this.state, mutator);
    if (!recorded) return;
    const change: OptimisticChange = { id: this.owner.newId(), ops: recorded.ops, mutator };
    this.edits++;
    this.optimistic.push(change);
    // Handed over before it is shown: a listener that edits in turn queues its change after this one.
    this.lastSubmit = this.owner.submit(this.erased(), change);
    this.show(recorded.next);
  }

  /** Resolves when every `change()` made so far has been persisted to the store (or rolled back). */
  flush(): Promise<void> {
    return this.lastSubmit;
  }

  /** @internal The committed state and persisted local layers the view is built from. */
  _layers(): DocLayers {
    return this.layers;
  }

  /** @internal How many edits `change()` has made on this doc (a read can tell whether one came while it ran). */
  _edits(): number {
    return this.edits;
  }

  /**
   * @internal Optimistic changes not yet minted, in order: the live list (`change()` appends to it,
   * minting cuts from its front), so a step that keeps it across an await copies it.
   */
  _optimistic(): readonly OptimisticChange[] {
    return this.optimistic;
  }

  /**
   * @internal Replaces what the doc shows: new committed/local layers, optionally new optimistic
   * ops (rebased), and drops the optimistic entries named in `minted`. Emits if the view changed
   * (applying `onTop` to the view when the new layers are the old ones with those ops on top).
   * `keepIfEqual`: the new layers may show what the view shows (the server confirming an own
   * edit): a rebuilt view identical to it, key order included, is dropped, the view kept.
   */
  _update(layers: DocLayers, options: { minted?: string[]; optimistic?: OptimisticChange[]; viewUnchanged?: boolean; rerecord?: boolean; onTop?: readonly JSONPatchOp[]; keepIfEqual?: boolean } = {}): void {
    this.layers = layers;
    if (options.optimistic) this.optimistic = options.optimistic;
    if (options.minted?.length) this.optimistic = withoutMinted(this.optimistic, options.minted);
    if (options.rerecord) this.rerecord();
    if (options.viewUnchanged) return;
    // `onTop`: the new layers show the old view with these ops applied (another tab's appended OT
    // changes, LWW `opsOnTop`), so with no optimistic edits on it the view is not rebuilt from every op.
    const { onTop } = options;
    const next = onTop && this.optimistic.length === 0 ? this.stateWith(onTop) : this.rebuilt();
    // A view rebuilt identical (a new object) would render every subscriber again for nothing.
    // Identical in key order too: a rebuilt view lists its keys in the order every replica
    // rebuilds them in, which the author's view (in the order its `change()` calls made them) may
    // not, and a list of a map's keys must come out the same for every user, so that one is shown.
    // Compared only when asked: it costs a walk of the view's widest objects.
    if (options.keepIfEqual && deepEqual(next, this.view, true)) return;
    this.show(next);
  }

  /**
   * @internal Drops an optimistic change that could not be persisted, and every optimistic change
   * after it, and rebuilds the view; returns their ids, the failed one first. The later ones were
   * made on a view that showed the failed one (an index counted with an item it added, a field
   * set inside an object it made): kept, they would be saved as recorded on a state that never
   * was, and neither an LWW op (no transform; arrays written whole) nor a re-run mutator (an
   * index means another item then) can say what the user meant without it. So they go with it,
   * and none of them is saved afterwards: their queued saves ask `_takeRolledBack` first.
   */
  _rollback(id: string): string[] {
    const at = this.optimistic.findIndex(change => change.id === id);
    const gone = at < 0 ? [] : this.optimistic.slice(at);
    if (at >= 0) this.optimistic = this.optimistic.slice(0, at);
    for (const change of gone) if (change.id !== id) this.rolledBack.add(change.id);
    this.show(this.rebuilt());
    return [id, ...gone.filter(change => change.id !== id).map(change => change.id)];
  }

  /** @internal True (once) for an edit rolled back with an earlier one that failed: its save must save nothing. */
  _takeRolledBack(id: string): boolean {
    return this.rolledBack.delete(id);
  }

  /** @internal Completes `state$` when the doc is closed; `change()` refuses from then on. */
  _close(): void {
    this.closed = true;
    this.emitter.complete(() => this.subject.complete());
  }

  /** With `freeze`, the state deep-frozen (immer skips what is frozen already): a state rebuilt from ops (on open, after server changes or a rollback) too. */
  private shown(state: T): T {
    return this.frozen ? freeze(state, true) : state;
  }

  /**
   * Makes `state` the state shown and emits it. A listener that edits during an emission (an
   * `onUpdate` that reacts with `change()`) gets its state emitted once the emission under way is
   * done (`InOrderEmitter`), so no listener is left with the older state last.
   */
  private show(state: T): void {
    this.view = this.shown(state);
    this.emitter.next(this.view);
  }

  /** Runs a mutator on `base` through immer: the next state and the ops to keep, or `undefined` when it changed nothing. */
  private record(base: T, mutator: (draft: Draft<T>) => void): { next: T; ops: JSONPatchOp[] } | undefined {
    this.recording = true;
    let produced: ReturnType<Immer['produceWithPatches']>;
    let returned: unknown;
    let returnedDraft = false;
    try {
      // One recording: `editText` calls in the recipe compose into one `@txt` per field.
      produced = recordingTextEdits(() =>
        this.immer.produceWithPatches(base, (draft: Draft<T>) => {
          returned = (mutator as (draft: Draft<T>) => unknown)(draft);
          // Looked at before immer revokes the drafts (a revoked proxy throws on any read).
          returnedDraft = isDraft(returned);
          if (isThenable(returned)) {
            // Its rest would write into revoked drafts: that rejection is this TypeError's.
            returned.then(undefined, () => undefined);
            throw new TypeError(`change() of document "${this.id}": the recipe returned a promise, and async recipes are not supported (what runs after an await is lost): make the edit synchronous, awaiting before change(), and return nothing`);
          }
        }),
      );
    } finally {
      this.recording = false;
    }
    const [next, patches] = produced;
    refuseReturned(this.id, returned, returnedDraft, patches);
    if (patches.length === 0) return undefined;
    // OT appends travel as '/-' (what the reference's rules order consistently); LWW paths are
    // keys, and an array is one value there, written whole. A text document `editText` made
    // travels as its `@txt` delta in OT (merged with concurrent typing), whole in LWW.
    // An element taken out of an array and put back elsewhere in it (or in another array) travels as a `move` in OT.
    const ops = immerPatchesToOps(patches, base, { appendsAtEnd: this.algorithm === 'ot', moves: this.algorithm === 'ot' });
    const recorded = this.algorithm === 'lww' ? arraysWhole(ops, next) : textEditOps(ops, base, next);
    // Values as every other replica gets them (JSON's form); what JSON cannot hold throws here.
    let json = jsonOps(recorded);
    // immer's patches leave out what a `length` cut took from an array refilled past it: such an
    // array has holes, and only the states say what changed. LWW writes arrays whole from `next`
    // (`arraysWhole`) already; an OT change gets those arrays' ops from a diff.
    const holes = arraysWithHoles(patches, next);
    if (holes.length > 0 && this.algorithm === 'ot') json = rediffArrays(json, holes, base, next);
    if (json.length === 0) return undefined;
    // A value written in another form (a Date, NaN, an undefined field or element) shows in that
    // form here too: the view is rebuilt from the ops (immer's state keeps a field set to undefined).
    const asRecorded = holes.length === 0 && json === recorded && !patches.some(patch => patch.op !== 'remove' && patch.value === undefined);
    let shown = asRecorded ? next : applyPatch(base, json, { mode: 'strict' });
    // immer leaves out the edits of an item that the recipe also put into a new array or object
    // (`mayHideEdits`): where that may be, the ops are replayed and compared with immer's state,
    // and what they miss is added from the difference, so no edit the author sees is dropped.
    if (mayHideEdits(patches)) {
      const textOps = new Map<JSONPatchOp, JSONPatchOp>();
      if (recorded !== ops) recorded.forEach((op, i) => op !== ops[i] && textOps.set(op, jsonOps([ops[i]])[0]));
      const replayed = asRecorded ? applyPatch(base, withoutTextOps(json, textOps), { mode: 'strict' }) : shown;
      if (!deepEqual(replayed, next)) {
        const wanted = asRecorded ? next : jsonOps([{ op: 'replace', path: '', value: next }])[0].value;
        const missing = diffStates(replayed, wanted);
        if (missing.length > 0) {
          json = [...json, ...(this.algorithm === 'lww' ? arraysWhole(missing, wanted) : missing)];
          if (!asRecorded) shown = applyPatch(shown, missing, { mode: 'strict' });
        }
      }
    }
    return { next: shown as T, ops: this.owner.prepareOps(this.erased(), json) };
  }

  /**
   * Records the optimistic changes again, in order, on the layers just installed: an LWW op has
   * no transform, so an edit recorded on a view that missed another tab's write (a parent object
   * written whole over children the store already holds) would overwrite that write. Each
   * mutator runs once more; one that now throws keeps the ops it first recorded.
   */
  private rerecord(): void {
    const redone: OptimisticChange[] = [];
    for (const change of this.optimistic) {
      let ops = change.ops;
      if (change.mutator) {
        try {
          ops = this.record(this.viewOf(redone).state, change.mutator as (draft: Draft<T>) => void)?.ops ?? [];
        } catch {
          // keep the first recording
        }
      }
      redone.push({ ...change, ops });
    }
    this.optimistic = redone;
  }

  /**
   * The view with `ops` applied after the ops it shows, as a rebuild would apply them: LWW
   * leniently (`opsOnTop` vouches for the result); OT strictly on a view built strictly, else
   * rebuilt (a lenient rebuild is not the lenient view with the ops after it: a failed `test`
   * voids every op).
   */
  private stateWith(ops: readonly JSONPatchOp[]): T {
    if (this.algorithm === 'lww') return applyPatch(this.state, ops, { mode: 'lenient' });
    if (this.fellBack) return this.rebuilt();
    try {
      return applyPatch(this.state, ops);
    } catch {
      return this.rebuilt();
    }
  }

  /** The view built from every layer, noting whether it fell back to lenient. */
  private rebuilt(): T {
    const { state, fellBack } = this.viewOf(this.optimistic);
    this.fellBack = fellBack;
    return state;
  }

  /** The committed state with the local layers and `optimistic` applied; `fellBack` when an OT op failed strictly. */
  private viewOf(optimistic: readonly OptimisticChange[]): { state: T; fellBack: boolean } {
    const base = (this.layers.committedState ?? {}) as T;
    const ops = [...this.layers.local, ...optimistic.map(change => change.ops)].flat();
    if (ops.length === 0) return { state: base, fellBack: false };
    if (this.algorithm === 'lww') return { state: applyPatch(base, ops, { mode: 'lenient' }), fellBack: false };
    try {
      return { state: applyPatch(base, ops), fellBack: false };
    } catch {
      // A pending change that no longer applies must not blank the view: show what does apply.
      return { state: applyPatch(base, ops, { mode: 'lenient' }), fellBack: true };
    }
  }

  /** This doc as its owner sees every doc: the document type erased. */
  private erased(): PatchesDoc<object> {
    return this as unknown as PatchesDoc<object>;
  }
}

/**
 * `optimistic` without the entries named in `minted`. Changes are minted in the order they were
 * made, so they are usually the leading entries: then they are cut off in place, neither filtered
 * with a set nor copied (a burst of n edits mints n times over up to n entries).
 */
function withoutMinted(optimistic: OptimisticChange[], minted: readonly string[]): OptimisticChange[] {
  if (minted.length <= optimistic.length && minted.every((id, i) => optimistic[i].id === id)) {
    optimistic.splice(0, minted.length);
    return optimistic;
  }
  const ids = new Set(minted);
  return optimistic.filter(change => !ids.has(change.id));
}

/** A promise or any other thenable (what an `async` recipe returns). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Throws the TypeError of a recipe whose return value would be a lost edit (see `change()`): an
 * object or array that is not a draft, returned by a recipe that changed nothing (a replacement
 * state, `d => ({ ...d, title })`). A recipe that changed something keeps its edits whatever it
 * returns (what a method gives by the way: the element `pop` or `shift` took out, which with
 * immer's `enableArrayMethods` is no draft, found in a second reading; an assignment's value; the
 * array `splice` removed). Anything else passes: a number (`push`), a string or boolean, `null`,
 * the draft or a part of it.
 */
function refuseReturned(docId: string, returned: unknown, returnedDraft: boolean, patches: readonly Patch[]): void {
  if (returned === undefined || returnedDraft || typeof returned !== 'object' || returned === null) return;
  if (patches.length > 0) return;
  throw new TypeError(`change() of document "${docId}": the recipe returned ${Array.isArray(returned) ? 'an array' : 'an object'} that is not the draft; a recipe edits the draft in place and returns nothing (a returned state is not recorded). Async recipes are not supported either`);
}
