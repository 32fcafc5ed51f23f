// How array pushes should be recorded (README decision), measured under the reference's
// transform rules: what happens to concurrent pushes and to edits of pushed elements when two
// clients write on one list and the server orders them (either client first).
//
//   npm run build && node bench/pushEncoding.js
//
// Each scenario: a list of 2 items; two clients each write 1–3 changes on it, each change one
// of: a pure push; a push plus an edit of the pushed item in the same change (immer folds that
// edit into the pushed value; by hand it is a second op); an edit, in a later
// change, of the item the client pushed earlier (still pending); an insert at a random index; an
// edit of an existing item. The server commits one client's queue, then the other's transformed
// over it (transformIncomingChanges), dropping a change that no longer applies, as OTDocService
// does. Counted per encoding of a push:
// - index: `add /list/<length>`; append: `add /list/-`; hybrid: `-` unless the same change then
//   addresses the pushed item by index (then its concrete index).
// Outcomes (edits of an item nobody else edits): edits that landed on another item than meant
// (silently), edits lost, changes dropped, and scenarios where two clients' pure pushes interleave.
import { pathToFileURL } from 'node:url';
import { applyPatch } from '../dist/algorithms/applyPatch.js';
import { transformIncomingChanges } from '../dist/algorithms/transformIncomingChanges.js';

function rng(seed) {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const KINDS = ['push', 'pushEdit', 'editPushed', 'insert', 'editExisting'];

/** One client's queue: changes written one after another on its own view. */
function writeQueue(rand, client, encoding, doc, count, edits, folded) {
  let view = doc;
  const changes = [];
  const pushed = [];
  for (let i = 0; i < count; i++) {
    let kind = KINDS[rand(KINDS.length)];
    if (kind === 'editPushed' && pushed.length === 0) kind = 'push';
    const length = view.list.length;
    const id = `${client}${i}`;
    const ops = [];
    if (kind === 'push' || kind === 'pushEdit') {
      // immer folds an edit of a just-pushed item into the pushed value; written by hand (or by
      // another client) it is a second op of the same change.
      const sameChangeEdit = kind === 'pushEdit' && folded === false;
      const append = encoding === 'append' || (encoding === 'hybrid' && !sameChangeEdit);
      const token = `${id}!`;
      ops.push({ op: 'add', path: append ? '/list/-' : `/list/${length}`, value: { id, v: kind === 'pushEdit' && folded ? token : 0 } });
      pushed.push(id);
      if (kind === 'pushEdit') edits.push({ item: id, token });
      if (sameChangeEdit) ops.push({ op: 'replace', path: `/list/${length}/v`, value: token });
    } else if (kind === 'editPushed') {
      const item = pushed[rand(pushed.length)];
      const at = view.list.findIndex((x) => x.id === item);
      const token = `${id}!`;
      edits.push({ item, token, ofPendingPush: true });
      ops.push({ op: 'replace', path: `/list/${at}/v`, value: token });
    } else if (kind === 'insert') {
      ops.push({ op: 'add', path: `/list/${rand(length + 1)}`, value: { id, v: 0 } });
    } else {
      const at = rand(length);
      const token = `${id}!`;
      edits.push({ item: view.list[at].id, token });
      ops.push({ op: 'replace', path: `/list/${at}/v`, value: token });
    }
    view = applyPatch(view, ops, { mode: 'strict' });
    changes.push({ id, baseRev: 0, rev: i + 1, ops, createdAt: 0, committedAt: 0, kind });
  }
  return changes;
}

/** The server commits `first`, then `second` transformed over it; returns [state, dropped count]. */
function serve(doc, first, second) {
  let state = doc;
  const log = [];
  let dropped = 0;
  for (const queue of [first, second]) {
    for (const change of transformIncomingChanges(log, queue, () => false)) {
      try {
        state = applyPatch(state, change.ops, { mode: 'strict' });
        log.push({ ...change, rev: log.length + 1, committedAt: 1 });
      } catch {
        dropped++;
      }
    }
  }
  return [state, dropped];
}

function interleaves(list, a, b) {
  const owner = list.map((x) => (a.includes(x.id) ? 'a' : b.includes(x.id) ? 'b' : '')).filter(Boolean);
  let runs = 0;
  for (let i = 0; i < owner.length; i++) if (i === 0 || owner[i] !== owner[i - 1]) runs++;
  return runs > 2;
}

export function main(scenarios = 4000) {
  const rows = {};
  for (const [encoding, folded] of [['index', true], ['append', true], ['hybrid', true], ['index', false], ['append', false], ['hybrid', false]]) {
    const row = { scenarios: 0, edits: 0, misEdits: 0, 'of which: own pending push': 0, lostEdits: 0, droppedChanges: 0, concurrentPushes: 0, interleaved: 0 };
    for (let seed = 0; seed < scenarios; seed++) {
      const rand = rng(seed);
      const doc = { list: [{ id: 'x', v: 0 }, { id: 'y', v: 0 }] };
      const edits = [];
      const a = writeQueue(rand, 'a', encoding, doc, 1 + rand(3), edits, folded);
      const b = writeQueue(rand, 'b', encoding, doc, 1 + rand(3), edits, folded);
      const aFirst = rand(2) === 0;
      const [state, dropped] = aFirst ? serve(doc, a, b) : serve(doc, b, a);
      row.scenarios++;
      row.droppedChanges += dropped;
      for (const { item, token, ofPendingPush } of edits) {
        // Two edits of one item: the later one overwrites the earlier, which proves nothing.
        if (edits.filter((e) => e.item === item).length > 1) continue;
        row.edits++;
        const holder = state.list.find((x) => x.v === token);
        if (!holder) row.lostEdits++;
        else if (holder.id !== item) {
          row.misEdits++;
          if (ofPendingPush) row['of which: own pending push']++;
        }
      }
      const pushesOf = (queue) => queue.filter((c) => c.kind === 'push').map((c) => c.id);
      const [pa, pb] = [pushesOf(a), pushesOf(b)];
      if (pa.length > 0 && pb.length > 0 && pa.length + pb.length > 2) {
        row.concurrentPushes++;
        if (interleaves(state.list, pa, pb)) row.interleaved++;
      }
    }
    rows[`${encoding}${folded ? ' (immer)' : ' (by hand)'}`] = row;
  }
  console.table(rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) main();
