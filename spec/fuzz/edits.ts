import type { Rng } from './random.js';

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
export function witnessEdit(serial: number): WitnessEdit {
  const key = `w${serial}`;
  return { key, value: serial, label: `${key}=${serial} (witness)`, apply: d => void (d[key] = serial) };
}
