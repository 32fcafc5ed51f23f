import type { Rng } from './random.js';
import { editText } from '../../src/txt/editText.js';
import type { DeltaOp } from '../../src/algorithms/deltaOps.js';

/** A JSON value, as fuzzed documents hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The shape of every fuzzed document: a JSON object. */
export type FuzzDoc = { [key: string]: Json };

/** One random edit: applies itself to a draft and names itself for the trace. */
export interface Edit {
  label: string;
  apply(draft: FuzzDoc): void;
  /** A second `change()`, made at once after the first (in the same millisecond, as a handler that calls `change()` twice). */
  then?(draft: FuzzDoc): void;
}

const isObject = (value: Json | undefined): value is { [key: string]: Json } => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `parent[key]` as an array, created empty if it is anything else. */
function arrayAt(parent: FuzzDoc, key: string): Json[] {
  const value = parent[key];
  if (Array.isArray(value)) return value;
  parent[key] = [];
  return parent[key] as Json[];
}

/** `parent[key]` as an object, created empty if it is anything else. */
function objectAt(parent: FuzzDoc, key: string): FuzzDoc {
  const value = parent[key];
  if (isObject(value)) return value;
  parent[key] = {};
  return parent[key] as FuzzDoc;
}

function numberAt(parent: FuzzDoc, key: string): number {
  const value = parent[key];
  return typeof value === 'number' ? value : 0;
}

/**
 * A random edit of an OT document, chosen against its current `state`: scalar fields, a counter
 * (a number replaced with its sum), array insert/remove/set (immer records a middle insert as a
 * chain of replaces plus an append, exactly as real callers produce), edits inside array items,
 * and a nested object whose parent is sometimes replaced or deleted under concurrent child edits.
 *
 * @param rng the script's generator
 * @param state the client's current view of the doc
 */
export function otEdit(rng: Rng, state: FuzzDoc): Edit {
  const list = Array.isArray(state.list) ? state.list : [];
  const value = rng.int(0, 999);
  const kind = rng.weighted({
    title: 1,
    counter: 2,
    listInsert: 3,
    listPush: 2,
    listRemove: list.length > 0 ? 2 : 0,
    listSet: list.length > 0 ? 2 : 0,
    listItemEdit: list.some(isObject) ? 2 : 0,
    listClear: 0.3,
    objSet: 2,
    objDelete: isObject(state.obj) && Object.keys(state.obj).length > 0 ? 1 : 0,
    nestedSet: 2,
    nestedList: 1,
    nestedReplace: 0.5,
    nestedDelete: 0.5,
    // Under the rich text the raw writer edits (`@txt` on /body): replaced by plain text, or deleted.
    bodyReplace: isObject(state.body) ? 0.5 : 0,
    bodyDelete: isObject(state.body) ? 0.3 : 0,
    // Typing in it as an editor binding does: `editText` records `@txt`, concurrent with the raw writer's.
    bodyType: 1.5,
  });
  // Indices and keys are drawn now, from the script's generator, whatever the draft looks like.
  const index = rng.int(0, Math.max(0, list.length));
  const key = `k${rng.int(0, 4)}`;
  const item: Json = rng.chance(0.5) ? value : { v: value };
  switch (kind) {
    case 'title':
      return { label: `title=${value}`, apply: d => void (d.title = `t${value}`) };
    case 'counter':
      return { label: `n+=${value % 5}`, apply: d => void (d.n = numberAt(d, 'n') + (value % 5) + 1) };
    case 'listInsert':
      return { label: `list.insert(${index})`, apply: d => void arrayAt(d, 'list').splice(Math.min(index, arrayAt(d, 'list').length), 0, item) };
    case 'listPush':
      return { label: 'list.push', apply: d => void arrayAt(d, 'list').push(item) };
    case 'listRemove':
      return {
        label: `list.remove(${index})`,
        apply: d => {
          const l = arrayAt(d, 'list');
          if (l.length > 0) l.splice(index % l.length, 1);
        },
      };
    case 'listSet':
      return {
        label: `list[${index}]=${value}`,
        apply: d => {
          const l = arrayAt(d, 'list');
          if (l.length > 0) l[index % l.length] = value;
        },
      };
    case 'listItemEdit':
      return {
        label: `list[${index}].v=${value}`,
        apply: d => {
          const l = arrayAt(d, 'list');
          const objects = l.filter(isObject);
          if (objects.length > 0) objects[index % objects.length].v = value;
        },
      };
    case 'listClear':
      return { label: 'list=[]', apply: d => void (d.list = []) };
    case 'objSet':
      return { label: `obj.${key}=${value}`, apply: d => void (objectAt(d, 'obj')[key] = value) };
    case 'objDelete':
      return {
        label: `delete obj[${index}]`,
        apply: d => {
          const o = objectAt(d, 'obj');
          const keys = Object.keys(o);
          if (keys.length > 0) delete o[keys[index % keys.length]];
        },
      };
    case 'nestedSet':
      return { label: `nested.a.b=${value}`, apply: d => void (objectAt(objectAt(d, 'nested'), 'a').b = value) };
    case 'nestedList':
      return { label: 'nested.a.list.push', apply: d => void arrayAt(objectAt(objectAt(d, 'nested'), 'a'), 'list').push(value) };
    case 'nestedReplace':
      return { label: 'nested={…}', apply: d => void (d.nested = { a: { b: value } }) };
    case 'nestedDelete':
      return { label: 'delete nested', apply: d => void delete d.nested };
    case 'bodyReplace':
      return { label: `body="plain ${value}"`, apply: d => void (d.body = `plain ${value}`) };
    case 'bodyDelete':
      return { label: 'delete body', apply: d => void delete d.body };
    case 'bodyType': {
      // Where to type or cut, as a share of the text the draft holds when the edit is made.
      const share = rng.int(0, 99) / 100;
      const cut = rng.chance(0.3) ? rng.int(1, 3) : 0;
      return {
        label: `editText /body ${cut ? `delete ${cut}` : 'insert'} at ${Math.round(share * 100)}%`,
        apply: d => {
          const length = textLength(d.body);
          const at = Math.floor(share * (length - 1));
          const count = Math.min(cut, length - 1 - at);
          const delta: DeltaOp[] = [...(at > 0 ? [{ retain: at }] : []), count > 0 ? { delete: count } : { insert: `e${value} ` }];
          d.body = editText(d.body, delta) as unknown as Json;
        },
      };
    }
  }
}

/** The length of a rich text value as `@txt` sees it: a Delta's inserts (an embed counts 1), or the "\n" a missing or invalid one starts from. */
function textLength(value: Json | undefined): number {
  const ops = isObject(value) && Array.isArray(value.ops) ? value.ops : undefined;
  if (!ops) return 1;
  return ops.reduce<number>((sum, op) => sum + (isObject(op) && typeof op.insert === 'string' ? op.insert.length : isObject(op) && op.insert !== undefined ? 1 : 0), 0);
}

/**
 * A random edit of an LWW document: set and delete top-level fields, a counter, and a parent
 * object raced by writes to its children (set a child, replace the parent, delete it).
 *
 * @param rng the script's generator
 * @param state the client's current view of the doc
 */
export function lwwEdit(rng: Rng, state: FuzzDoc): Edit {
  const fields = Object.keys(state).filter(k => k.startsWith('f'));
  const value = rng.int(0, 999);
  const kind = rng.weighted({ set: 4, delete: fields.length > 0 ? 2 : 0, counter: 2, text: 1, objSet: 3, objReplace: 1, objDelete: 1, deepSet: 2, deepPair: 1, deepReplace: 0.5, listPush: 1.5, listSplice: 1, listEdit: 1, tagsAgain: 0.5 });
  const field = `f${rng.int(0, 5)}`;
  const child = rng.pick(['a', 'b', 'c']);
  const which = rng.int(0, 99);
  switch (kind) {
    case 'set':
      return { label: `${field}=${value}`, apply: d => void (d[field] = value) };
    case 'delete':
      return {
        label: `delete f[${which}]`,
        apply: d => {
          const keys = Object.keys(d).filter(k => k.startsWith('f'));
          if (keys.length > 0) delete d[keys[which % keys.length]];
        },
      };
    case 'counter':
      return { label: 'c+=1', apply: d => void (d.c = numberAt(d, 'c') + 1) };
    case 'text':
      return { label: `s=${value}`, apply: d => void (d.s = `s${value}`) };
    case 'objSet':
      return { label: `obj.${child}=${value}`, apply: d => void (objectAt(d, 'obj')[child] = value) };
    case 'objReplace':
      return { label: 'obj={…}', apply: d => void (d.obj = { a: value, b: value + 1 }) };
    case 'objDelete':
      return { label: 'delete obj', apply: d => void delete d.obj };
    // Three levels, so a field's row can be stored before its object's (written inside /nest's value).
    case 'deepSet':
      return { label: `nest.o.${child}=${value}`, apply: d => void (objectAt(objectAt(d, 'nest'), 'o')[child] = value) };
    case 'deepPair':
      // An object and a field in it at one timestamp: two change() calls in one millisecond.
      return {
        label: `nest.o={} then nest.o.${child}=${value}`,
        apply: d => void (objectAt(d, 'nest').o = {}),
        then: d => void (objectAt(objectAt(d, 'nest'), 'o')[child] = value),
      };
    case 'deepReplace':
      return { label: 'nest={o:{}}', apply: d => void (d.nest = { o: {} }) };
    // An array is one LWW value, written whole: pushes, splices and element edits must all survive.
    case 'listPush':
      return { label: `list.push(${value})`, apply: d => void arrayAt(d, 'list').push(value, value + 1) };
    case 'listSplice':
      return {
        label: `list.splice(${which})`,
        apply: d => {
          const list = arrayAt(d, 'list');
          list.splice(which % (list.length + 1), 2);
        },
      };
    case 'listEdit':
      return {
        label: `list[${which}]=${value}`,
        apply: d => {
          const list = arrayAt(d, 'list');
          if (list.length > 0) list[which % list.length] = value;
          else list.unshift(value);
        },
      };
    // A field deleted, then set to an empty object again (a soft write over the removal).
    case 'tagsAgain':
      return { label: 'delete tags, then tags={}', apply: d => void delete d.tags, then: d => void (d.tags = {}) };
  }
}

/** A change written as raw JSON Patch ops (what immer cannot record: moves and copies). */
export interface RawEdit {
  label: string;
  ops: { op: string; path: string; from?: string; value?: Json }[];
}

/**
 * A random raw OT edit on `state`, as a @dabble/patches client (or code sending its own ops)
 * writes it: an insert at a random index, a move within the list or between the list and the
 * nested list, a move or copy between object keys, a copy of a list item, a rich text edit of
 * `/body` (`@txt`: an insert or a delete in a Quill Delta). Drawn against the
 * server's head; the caller checks it applies there.
 *
 * @param rng the script's generator
 * @param state the document as the server holds it
 */
export function otRawEdit(rng: Rng, state: FuzzDoc): RawEdit {
  const list = Array.isArray(state.list) ? state.list : undefined;
  const nested = isObject(state.nested) && isObject(state.nested.a) && Array.isArray(state.nested.a.list) ? state.nested.a.list : undefined;
  const keys = isObject(state.obj) ? Object.keys(state.obj) : [];
  const value = rng.int(0, 999);
  const kind = rng.weighted({
    insertAt: list ? 3 : 0,
    moveInList: list && list.length > 1 ? 3 : 0,
    moveToNested: list && list.length > 0 && nested ? 2 : 0,
    moveFromNested: list && nested && nested.length > 0 ? 1 : 0,
    copyInList: list && list.length > 0 ? 2 : 0,
    moveKey: keys.length > 0 ? 2 : 0,
    copyKey: keys.length > 0 ? 2 : 0,
    copyToKey: list && list.length > 0 && isObject(state.obj) ? 1 : 0,
    pushNew: 1,
    text: 4,
  });
  const at = (length: number) => rng.int(0, Math.max(0, length));
  const other = () => `k${rng.int(0, 4)}`;
  switch (kind) {
    case 'insertAt': {
      const i = at(list!.length);
      return { label: `raw add /list/${i}`, ops: [{ op: 'add', path: `/list/${i}`, value: { v: value } }] };
    }
    case 'moveInList': {
      const from = rng.int(0, list!.length - 1);
      const to = rng.int(0, list!.length - 1);
      return { label: `raw move /list/${from} → /list/${to}`, ops: [{ op: 'move', from: `/list/${from}`, path: `/list/${to}` }] };
    }
    case 'moveToNested': {
      const from = rng.int(0, list!.length - 1);
      const to = at(nested!.length);
      return { label: `raw move /list/${from} → nested`, ops: [{ op: 'move', from: `/list/${from}`, path: `/nested/a/list/${to}` }] };
    }
    case 'moveFromNested': {
      const from = rng.int(0, nested!.length - 1);
      const to = at(list!.length);
      return { label: `raw move nested → /list/${to}`, ops: [{ op: 'move', from: `/nested/a/list/${from}`, path: `/list/${to}` }] };
    }
    case 'copyInList': {
      const from = rng.int(0, list!.length - 1);
      const to = at(list!.length);
      return { label: `raw copy /list/${from} → /list/${to}`, ops: [{ op: 'copy', from: `/list/${from}`, path: `/list/${to}` }] };
    }
    case 'moveKey': {
      const from = keys[rng.int(0, keys.length - 1)];
      return { label: `raw move obj.${from}`, ops: [{ op: 'move', from: `/obj/${from}`, path: `/obj/${other()}` }] };
    }
    case 'copyKey': {
      const from = keys[rng.int(0, keys.length - 1)];
      return { label: `raw copy obj.${from}`, ops: [{ op: 'copy', from: `/obj/${from}`, path: `/obj/${other()}` }] };
    }
    case 'copyToKey': {
      const from = rng.int(0, list!.length - 1);
      return { label: `raw copy /list/${from} → obj`, ops: [{ op: 'copy', from: `/list/${from}`, path: `/obj/${other()}` }] };
    }
    case 'pushNew':
      return { label: 'raw add /list/-', ops: [{ op: 'add', path: '/list/-', value: { v: value } }] };
    case 'text': {
      // A rich text edit (what an editor bound to /body sends), kept before the final "\n".
      const length = textLength(state.body);
      const at = rng.int(0, length - 1);
      const count = Math.min(rng.int(1, 3), length - 1 - at);
      const cut = rng.chance(0.3) && count > 0;
      const delta: Json[] = [...(at > 0 ? [{ retain: at }] : []), cut ? { delete: count } : { insert: `w${value} ` }];
      return { label: `raw @txt /body ${cut ? `delete ${count}` : 'insert'} at ${at}`, ops: [{ op: '@txt', path: '/body', value: delta }] };
    }
  }
}

/** An edit the oracle can follow to the end: `key` set to `value` (see {@link witnessEdit}). */
export interface WitnessEdit extends Edit {
  key: string;
  value: number;
}

/**
 * A witness: sets a top-level key of its own (`w<serial>`) that no other edit, raw writer or
 * algorithm rule ever touches, so neither OT nor LWW may lose it: it must be in the final doc
 * unless the doc was deleted or its database discarded its unsent work. An edit lost before it
 * became a change (a rebase that left it no ops) leaves no id for the oracle to miss; a
 * witness's absence shows it.
 *
 * @param serial unique over the run
 */
export function witnessEdit(serial: number, specialKey = false, algorithm: 'ot' | 'lww' = 'ot'): WitnessEdit {
  const forms = algorithm === 'lww' ? SPECIAL_WITNESS_KEYS : SPECIAL_WITNESS_KEYS.filter(form => form !== NUMERIC_KEY);
  const key = specialKey ? forms[serial % forms.length](serial) : `w${serial}`;
  return { key, value: serial, label: `${JSON.stringify(key)}=${serial} (witness)`, apply: d => void (d[key] = serial) };
}

/**
 * A key that reads as an array index. LWW witnesses only: the OT transform runs without the state
 * and takes any path ending in a canonical integer for an array index (protocol §2.3, "avoid
 * numeric object keys", as @dabble/patches does), so a concurrent write of a smaller numeric key
 * would shift an OT witness to another key (finding U: a documented limit, README Known limits).
 */
const NUMERIC_KEY = (serial: number): string => `${100_000 + serial}`;

/** Witness keys of the extended edits: a JSON Pointer escape in each form (`~1` for "/", `~0` for "~"), and (LWW) a key that reads as an array index. */
const SPECIAL_WITNESS_KEYS: readonly ((serial: number) => string)[] = [serial => `w/${serial}~1`, NUMERIC_KEY, serial => `w~${serial}/`];

// ── Cards (every mode, OT docs): drags made through `change()`, as a board's UI makes them ──

/** The board's lists: only {@link cardEdit} writes them (the basic, extended, big and raw edits never do). */
export const BOARD_LISTS: readonly string[] = ['todo', 'done'];

/** A card: an object whose `id` starts with `card-` (unique over the run), with a title and now and then rich text. */
export type Card = { [key: string]: Json } & { id: string };

/** Whether a value is a card (see {@link Card}). */
export const isCard = (value: Json | undefined): value is Card => isObject(value) && typeof value.id === 'string' && value.id.startsWith('card-');

/** One card edit: what it is, and for the oracle the user's intent (a card removed, a card dragged off the board). */
export interface CardEdit extends Edit {
  kind: 'add' | 'drag' | 'dragTwo' | 'title' | 'text' | 'remove';
  /** The card it makes or edits (the first one dragged). */
  card: string;
  /** The card a `remove` takes away: the user meant it gone. */
  removes?: string;
  /** The drags it makes: each card, the list it is in and the list it is dragged to. */
  drags?: { id: string; from: string; to: string }[];
  /** A card it adds, and the list it goes to. */
  adds?: { id: string; to: string };
  /** The title it gives a card (made or retitled). */
  titles?: { id: string; title: string };
}

/** Where the card `id` is among `lists` of the draft. */
function locate(d: FuzzDoc, lists: readonly string[], id: string): { list: Json[]; index: number; name: string } | undefined {
  for (const name of lists) {
    const list = d[name];
    if (!Array.isArray(list)) continue;
    const index = list.findIndex(item => isCard(item) && item.id === id);
    if (index >= 0) return { list, index, name };
  }
  return undefined;
}

/**
 * Drags card `id` to list `to` at `share` of its length, the way a UI does:
 * `const [card] = from.splice(i, 1); to.splice(j, 0, card)`. Dropped on its own place it goes to
 * the list's other end, so it moves (see {@link dragTarget} for a card alone in its list).
 */
function drag(d: FuzzDoc, lists: readonly string[], id: string, to: string, share: number): void {
  const from = locate(d, lists, id);
  const target = d[to];
  if (!from || !Array.isArray(target) || (target === from.list && target.length === 1)) return;
  const [card] = from.list.splice(from.index, 1);
  let at = Math.round(share * target.length);
  if (target === from.list && at === from.index) at = at === target.length ? 0 : target.length;
  target.splice(at, 0, card);
}

/** The list a drag of card `id` drawn to `to` goes to: another list that exists when the card is alone in `to`. */
function dragTarget(state: FuzzDoc, lists: readonly string[], id: string, to: string): string {
  const home = locate(state, lists, id);
  if (home?.name !== to || home.list.length > 1) return to;
  return lists.find(name => name !== to && Array.isArray(state[name])) ?? to;
}

/**
 * A random edit of the cards of an OT document's board (`todo` and `done`, and with `lists` more
 * lists): add a card, drag one (within its list or into another; one drag per `change()`, as a
 * UI makes them), retitle one, type into its rich text, remove one. Cards are picked by id from
 * `state`, so concurrent clients drag, retitle and remove the same few cards: a drag meets
 * another drag, an edit inside the card, or its removal. A drag goes only to a list that exists
 * (a board's columns exist before a card is dropped in them; `add` creates its list when `createLists`).
 *
 * @param rng the generator of the card edits (not the script's: the script stays as it was)
 * @param state the client's current view of the doc
 * @param fresh a number unique over the run: card ids (`card-<n>`) and titles (`<card id> #<n>`,
 *   so a title found on another card than the one it was written for shows an edit that did not
 *   follow its card)
 * @param lists the lists cards live in and are dragged between ({@link BOARD_LISTS}, or more)
 * @param twoDrags now and then two drags in one `change()` (a documented limit: see README)
 * @param prefer the card to edit, when the view holds it (another client's edit of it is racing this one)
 * @param createLists whether an `add` may make the list it goes to; else it goes only to a list
 *   the view holds (two clients making one list at once: the later write replaces the earlier)
 * @return the edit, or undefined when there is nothing this client may do (no card, no list)
 */
export function cardEdit(rng: Rng, state: FuzzDoc, fresh: () => number, lists: readonly string[] = BOARD_LISTS, twoDrags = false, prefer?: string, createLists = true): CardEdit | undefined {
  // (Distinct: a raw `copy` in `list` may double a card.)
  const cards = [...new Set(lists.flatMap(name => (Array.isArray(state[name]) ? state[name] : []).filter(isCard).map(card => card.id)))];
  const existing = lists.filter(name => Array.isArray(state[name]));
  const value = rng.int(0, 999);
  const weights = {
    add: !createLists && existing.length === 0 ? 0 : cards.length < 3 ? 4 : cards.length < 10 ? 1 : 0.1,
    drag: cards.length > 1 || (cards.length > 0 && existing.length > 1) ? 8 : 0,
    dragTwo: twoDrags && cards.length > 1 ? 1 : 0,
    title: cards.length > 0 ? 3 : 0,
    text: cards.length > 0 ? 1 : 0,
    remove: cards.length > 3 ? 0.7 : 0,
  };
  const kind = rng.weighted(weights);
  if (Object.values(weights).every(weight => weight === 0)) return undefined;
  const picked = cards.length > 0 ? rng.pick(cards) : '';
  const id = prefer !== undefined && cards.includes(prefer) ? prefer : picked;
  const drawn = rng.pick(existing.length > 0 ? existing : lists);
  const to = kind === 'add' ? drawn : dragTarget(state, lists, id, drawn);
  const share = rng.int(0, 100) / 100;
  switch (kind) {
    case 'add': {
      const card = `card-${fresh()}`;
      const title = `${card} #${fresh()}`;
      return {
        kind,
        card,
        adds: { id: card, to },
        titles: { id: card, title },
        label: `card add ${card} to ${to} at ${Math.round(share * 100)}%`,
        apply: d => {
          // The list maker makes the whole board at once (its other lists too).
          if (createLists) for (const name of BOARD_LISTS) arrayAt(d, name);
          const list = arrayAt(d, to);
          list.splice(Math.round(share * list.length), 0, { id: card, title });
        },
      };
    }
    case 'drag':
      return { kind, card: id, drags: [{ id, from: locate(state, lists, id)!.name, to }], label: `card drag ${id} to ${to} at ${Math.round(share * 100)}%`, apply: d => drag(d, lists, id, to, share) };
    case 'dragTwo': {
      const second = rng.pick(cards.filter(other => other !== id));
      // (Drawn on the state before the first drag: the second may then stay where it is.)
      const to2 = dragTarget(state, lists, second, rng.pick(existing));
      const share2 = rng.int(0, 100) / 100;
      return {
        kind,
        card: id,
        drags: [
          { id, from: locate(state, lists, id)!.name, to },
          { id: second, from: locate(state, lists, second)!.name, to: to2 },
        ],
        label: `card drag ${id} to ${to} at ${Math.round(share * 100)}%, then ${second} to ${to2} at ${Math.round(share2 * 100)}% (one change)`,
        apply: d => {
          drag(d, lists, id, to, share);
          drag(d, lists, second, to2, share2);
        },
      };
    }
    case 'title': {
      const title = `${id} #${fresh()}`;
      return {
        kind,
        card: id,
        titles: { id, title },
        label: `card ${id}.title=${JSON.stringify(title)}`,
        apply: d => {
          const at = locate(d, lists, id);
          if (at) (at.list[at.index] as Card).title = title;
        },
      };
    }
    case 'text':
      return {
        kind,
        card: id,
        label: `card ${id}: editText .text insert at ${Math.round(share * 100)}%`,
        apply: d => {
          const at = locate(d, lists, id);
          if (!at) return;
          const card = at.list[at.index] as Card;
          const offset = Math.floor(share * (textLength(card.text) - 1));
          card.text = editText(card.text, [...(offset > 0 ? [{ retain: offset }] : []), { insert: `x${value} ` }]) as unknown as Json;
        },
      };
    case 'remove':
      return {
        kind,
        card: id,
        removes: id,
        label: `card remove ${id}`,
        apply: d => {
          const at = locate(d, lists, id);
          if (at) at.list.splice(at.index, 1);
        },
      };
  }
}

// ── Extended edits (`edits: 'extended'`): shapes the basic edits never make ──────────────────

/** Keys that need JSON Pointer escapes, read as array indexes or are otherwise odd (empty, `-`, non-ASCII). */
const ODD_KEYS = ['a/b', 'x~y', '~1', '~0/', '', '0', '1', '-', '12', 'é ü', '__proto__x'];

/**
 * An OT edit of a shape {@link otEdit} never makes: keys needing pointer escapes (set, delete, and
 * nested under each other), numeric-string keys in list items, an array of arrays (rows inserted,
 * removed and swapped under cell edits), a path five levels down (and its parent replaced), one
 * `change()` making several mutations at once, `reverse` and `unshift` of the list.
 *
 * @param rng the generator of the extended edits (not the script's: the script stays as it was)
 * @param state the client's current view of the doc
 */
export function extendedOtEdit(rng: Rng, state: FuzzDoc): Edit {
  const grid = Array.isArray(state.grid) ? state.grid : [];
  const value = rng.int(0, 999);
  const kind = rng.weighted({
    oddSet: 3,
    oddDelete: isObject(state.odd) && Object.keys(state.odd).length > 0 ? 1.5 : 0,
    oddNested: 1,
    rowPush: 2,
    rowInsert: 1,
    rowRemove: grid.length > 0 ? 1 : 0,
    rowSwap: grid.length > 1 ? 1 : 0,
    cellInsert: grid.length > 0 ? 3 : 0,
    cellSet: grid.length > 0 ? 2 : 0,
    cellRemove: grid.length > 0 ? 2 : 0,
    deepSet: 2,
    deepPush: 1,
    deepReplace: 0.5,
    several: 3,
    reverse: 1,
    unshift: 1.5,
    numericKeyInItem: 1,
  });
  const i = rng.int(0, 99);
  const j = rng.int(0, 99);
  const key = rng.pick(ODD_KEYS);
  switch (kind) {
    case 'oddSet':
      return { label: `odd[${JSON.stringify(key)}]=${value}`, apply: d => void (objectAt(d, 'odd')[key] = value) };
    case 'oddDelete':
      return { label: `delete odd[#${i}]`, apply: d => deleteNth(objectAt(d, 'odd'), i) };
    case 'oddNested':
      return { label: `odd2[${JSON.stringify(key)}].in[${JSON.stringify(key)}]=${value}`, apply: d => void (objectAt(objectAt(objectAt(d, 'odd2'), key), 'in')[key] = value) };
    case 'rowPush':
      return { label: `grid.push([${value}])`, apply: d => void arrayAt(d, 'grid').push([value]) };
    case 'rowInsert':
      return {
        label: `grid.insert(${i}, [${value}, ${value + 1}])`,
        apply: d => {
          const g = arrayAt(d, 'grid');
          g.splice(i % (g.length + 1), 0, [value, value + 1]);
        },
      };
    case 'rowRemove':
      return {
        label: `grid.remove(${i})`,
        apply: d => {
          const g = arrayAt(d, 'grid');
          if (g.length > 0) g.splice(i % g.length, 1);
        },
      };
    case 'rowSwap':
      return {
        label: `grid.swap(${i}, ${j})`,
        apply: d => {
          const g = arrayAt(d, 'grid');
          if (g.length < 2) return;
          const [a, b] = [i % g.length, j % g.length];
          [g[a], g[b]] = [g[b], g[a]];
        },
      };
    case 'cellInsert':
    case 'cellSet':
    case 'cellRemove':
      return {
        label: `grid[${i}] ${kind.slice(4).toLowerCase()} ${j}=${value}`,
        apply: d => {
          const g = arrayAt(d, 'grid');
          if (g.length === 0) return;
          const row = rowAt(g, i % g.length);
          if (kind === 'cellInsert') row.splice(j % (row.length + 1), 0, value);
          else if (row.length === 0) return;
          else if (kind === 'cellSet') row[j % row.length] = value;
          else row.splice(j % row.length, 1);
        },
      };
    case 'deepSet':
      return { label: `deep.a.b.c.d.k${i % 3}=${value}`, apply: d => void (objectPath(d, ['deep', 'a', 'b', 'c', 'd'])[`k${i % 3}`] = value) };
    case 'deepPush':
      return { label: `deep.a.b.c.list.push(${value})`, apply: d => void arrayAt(objectPath(d, ['deep', 'a', 'b', 'c']), 'list').push(value) };
    case 'deepReplace':
      return { label: 'deep.a={…}', apply: d => void (objectAt(d, 'deep').a = { b: { x: value } }) };
    case 'several':
      return {
        label: `several(${i}, ${j}, ${value})`,
        apply: d => {
          const l = arrayAt(d, 'list');
          if (l.length > 0) l.splice(i % l.length, 1);
          l.push({ v: value });
          if (l.length > 1) l[j % l.length] = value + 1;
          objectAt(d, 'obj')[`k${i % 5}`] = value;
          const g = arrayAt(d, 'grid');
          if (Array.isArray(g[0])) g[0].push(value);
          d.n = numberAt(d, 'n') + 1;
        },
      };
    case 'reverse':
      return { label: 'list.reverse()', apply: d => void arrayAt(d, 'list').reverse() };
    case 'unshift':
      return { label: `list.unshift(${value})`, apply: d => void arrayAt(d, 'list').unshift({ v: value }) };
    case 'numericKeyInItem':
      return {
        label: `list[${i}]["0"]=${value}`,
        apply: d => {
          const objects = arrayAt(d, 'list').filter(isObject);
          if (objects.length > 0) objects[i % objects.length]['0'] = value;
        },
      };
  }
}

/**
 * An LWW edit of a shape {@link lwwEdit} never makes: keys needing pointer escapes, numeric-string
 * keys under a parent that turns into an array or a number (and back) under their writes, a path
 * six levels down (and an ancestor replaced), several fields set and deleted in one `change()`,
 * an array of arrays, a field deleted from an object (at the top and six levels down).
 *
 * @param rng the generator of the extended edits
 */
export function extendedLwwEdit(rng: Rng): Edit {
  const value = rng.int(0, 999);
  const kind = rng.weighted({ oddSet: 3, oddDelete: 1, numericKey: 3, parentToArray: 1, parentToNumber: 0.5, deepSet: 2, deepReplace: 0.5, several: 2, grid: 1.5, cell: 1.5, fieldDelete: 1.5, deepDelete: 1 });
  const key = rng.pick(ODD_KEYS);
  const i = rng.int(0, 99);
  switch (kind) {
    case 'oddSet':
      return { label: `odd[${JSON.stringify(key)}]=${value}`, apply: d => void (objectAt(d, 'odd')[key] = value) };
    case 'oddDelete':
      return { label: `delete odd[#${i}]`, apply: d => deleteNth(objectAt(d, 'odd'), i) };
    case 'numericKey':
      return { label: `m["${i % 3}"]=${value}`, apply: d => void (objectAt(d, 'm')[String(i % 3)] = value) };
    case 'parentToArray':
      return { label: `m=[${value}, ${value + 1}]`, apply: d => void (d.m = [value, value + 1]) };
    case 'parentToNumber':
      return { label: `m=${value}`, apply: d => void (d.m = value) };
    case 'deepSet':
      return { label: `d6.a.b.c.d.e.k${i % 3}=${value}`, apply: d => void (objectPath(d, ['d6', 'a', 'b', 'c', 'd', 'e'])[`k${i % 3}`] = value) };
    case 'deepReplace':
      return { label: 'd6.a.b={…}', apply: d => void (objectPath(d, ['d6', 'a']).b = { z: value }) };
    case 'several':
      return {
        label: `several(${i}, ${value})`,
        apply: d => {
          d[`f${i % 6}`] = value;
          objectAt(d, 'obj').a = value;
          objectAt(d, 'm')[String(i % 3)] = value + 1;
          delete d[`f${(i + 1) % 6}`];
        },
      };
    case 'grid':
      return { label: `grid=[[${value}], []]`, apply: d => void (d.grid = [[value], []]) };
    case 'cell':
      return { label: `grid[0].push(${value})`, apply: d => void rowAt(arrayAt(d, 'grid'), 0).push(value) };
    // A field removed from an object a field's write made: the object stays, empty, on every
    // replica (the basic edits delete whole objects only; found in review, session 35).
    case 'fieldDelete':
      return { label: `delete obj[#${i}]`, apply: d => deleteNth(objectAt(d, 'obj'), i) };
    case 'deepDelete':
      return { label: `delete d6.a.b.c.d.e[#${i}]`, apply: d => deleteNth(objectPath(d, ['d6', 'a', 'b', 'c', 'd', 'e']), i) };
  }
}

// ── Big edits (`big: true`): more than the clients' small storage and payload budgets ────────

/**
 * An edit of 300–4,000 bytes, for clients whose budgets are far smaller (`maxStorageBytes` 800,
 * `maxPayloadBytes` 5,000), so the sync cuts changes into pieces and batches: a long string, an
 * object of many keys, many list items (OT) or many fields of one object (LWW).
 *
 * @param rng the generator of the big edits
 * @param algorithm the doc's
 */
export function bigEdit(rng: Rng, algorithm: 'ot' | 'lww'): Edit {
  const value = rng.int(0, 999);
  const size = rng.int(300, 4000);
  const count = Math.floor(size / 20);
  const half = Math.floor(size / 40);
  const kind = rng.weighted({ string: 2, object: 2, many: 1 });
  switch (kind) {
    case 'string':
      return { label: `big=string(${size})`, apply: d => void (d.big = `${value}:`.padEnd(size, 'x')) };
    case 'object':
      return { label: `bigObj={${count} keys}`, apply: d => void (d.bigObj = Object.fromEntries(Array.from({ length: count }, (_, k) => [`key${k}`, `${value}-${k}`]))) };
    case 'many':
      // OT: items appended to the list the other edits race on; LWW: fields of one object, a row each.
      return algorithm === 'ot'
        ? { label: `list.push ×${half}`, apply: d => void arrayAt(d, 'list').push(...Array.from({ length: half }, (_, k) => ({ v: value * 1000 + k }))) }
        : {
            label: `many.g0…g${half - 1}`,
            apply: d => {
              const many = objectAt(d, 'many');
              for (let k = 0; k < half; k++) many[`g${k}`] = `${value}-${k}`;
            },
          };
  }
}

/** `grid[index]` as an array, made empty if it is anything else. */
function rowAt(grid: Json[], index: number): Json[] {
  const row = grid[index];
  if (Array.isArray(row)) return row;
  grid[index] = [];
  return grid[index] as Json[];
}

/** Deletes the `n`-th key (modulo their count) of an object, if it has any. */
function deleteNth(object: FuzzDoc, n: number): void {
  const keys = Object.keys(object);
  if (keys.length > 0) delete object[keys[n % keys.length]];
}

/** The object at `path` under `parent`, each level created empty if it is anything else. */
function objectPath(parent: FuzzDoc, path: readonly string[]): FuzzDoc {
  return path.reduce(objectAt, parent);
}
