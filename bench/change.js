// µs per doc.change() on a 1 KB and a 1 MB document, with immer auto-freeze off (our default)
// and on. Each figure is the median of 7 runs of N changes. Then the list edits an app makes on
// the 1 MB doc's list of ~17,000 records (remove one from the middle, insert one there, move one
// to the top, find one by id and edit it), without and then with immer's array methods plugin
// (`enableArrayMethods()`, global to immer, so measured last); and one record edited in a map of
// 1,000 or 10,000 records keyed by id, in one object or in 100 buckets. Run: npm run build && node bench/change.js
import { pathToFileURL } from 'node:url';
import { enableArrayMethods } from 'immer';
import { InMemoryStore, Patches } from '../dist/index.js';
import { median } from './waits.js';

/** A document of roughly `bytes` bytes of JSON: many small records. */
function makeDoc(bytes) {
  const records = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const record = { id: `r${i}`, title: `Record ${i}`, done: i % 2 === 0, tags: ['a', 'b'] };
    size += JSON.stringify(record).length + 1;
    records.push(record);
  }
  return { title: 'bench', records, counter: 0 };
}

async function measure(bytes, freeze, changes) {
  const runs = [];
  for (let run = 0; run < 7; run++) {
    const store = new InMemoryStore();
    await store.trackDocs(['doc'], 'ot');
    await store.saveDoc('doc', { state: makeDoc(bytes), rev: 1 });
    const patches = new Patches({ store, docOptions: { freeze } });
    const doc = await patches.openDoc('doc');
    const each = [];
    const start = process.hrtime.bigint();
    for (let i = 0; i < changes; i++) {
      const before = process.hrtime.bigint();
      doc.change(draft => {
        draft.counter = i + 1;
        draft.records[i % draft.records.length].done = !draft.records[i % draft.records.length].done;
      });
      each.push(Number(process.hrtime.bigint() - before) / 1000);
    }
    const elapsed = Number(process.hrtime.bigint() - start) / 1000;
    await doc.flush();
    runs.push({ mean: elapsed / changes, median: median(each) });
  }
  return { mean: median(runs.map(run => run.mean)), median: median(runs.map(run => run.median)) };
}

/** The list edits, each a doc.change() mutator for the i-th call. */
const LIST_EDITS = {
  'remove from the middle': i => draft => {
    draft.records.splice(Math.floor(draft.records.length / 2), 1);
  },
  'insert in the middle': i => draft => {
    draft.records.splice(Math.floor(draft.records.length / 2), 0, { id: `n${i}`, title: `New ${i}`, done: false, tags: [] });
  },
  'move one to the top': i => draft => {
    const [record] = draft.records.splice(Math.floor(draft.records.length / 3), 1);
    draft.records.unshift(record);
  },
  'find by id and edit': i => draft => {
    const record = draft.records.find(r => r.id === `r${(i * 7919) % 15000}`);
    if (record) record.done = !record.done;
  },
};

/**
 * Mean µs per `doc.change()` of `edit(i)` for i < `changes` on a doc opened on `makeState()`
 * (committed at rev 1 in a fresh store), median of 5 runs.
 */
async function meanChangeMicros(makeState, edit, changes) {
  const runs = [];
  for (let run = 0; run < 5; run++) {
    const store = new InMemoryStore();
    await store.trackDocs(['doc'], 'ot');
    await store.saveDoc('doc', { state: makeState(), rev: 1 });
    const patches = new Patches({ store });
    const doc = await patches.openDoc('doc');
    const start = process.hrtime.bigint();
    for (let i = 0; i < changes; i++) doc.change(edit(i));
    runs.push(Number(process.hrtime.bigint() - start) / 1000 / changes);
    await doc.flush();
  }
  return median(runs);
}

/** Mean µs per change of each list edit on a doc of `bytes`, median of 5 runs of `changes`. */
async function measureListEdits(bytes, changes) {
  const row = {};
  for (const [name, edit] of Object.entries(LIST_EDITS)) row[name] = await meanChangeMicros(() => makeDoc(bytes), edit, changes);
  return row;
}

/**
 * Records kept in an object keyed by id, as normalized app state often is: `count` records in one
 * object, or spread over 100 bucket objects (`records[bucket][id]`). V8 keeps an object of more
 * than ~1,000 keys as a hash table, and copying one (as immer does with the object an edit
 * touches) costs ~0.2–0.7 µs per key, more the wider it is.
 */
function makeMapDoc(count, bucketed) {
  const records = {};
  for (let i = 0; i < count; i++) {
    const record = { title: `Record ${i}`, done: false };
    if (bucketed) (records[`b${i % 100}`] ??= {})[`r${i}`] = record;
    else records[`r${i}`] = record;
  }
  return { records };
}

/** Mean µs per change editing one existing record of a map doc (see makeMapDoc), median of 5 runs of `changes`. */
function measureMapEdits(count, bucketed, changes) {
  const edit = i => draft => {
    const index = (i * 7919) % count;
    const record = bucketed ? draft.records[`b${index % 100}`][`r${index}`] : draft.records[`r${index}`];
    record.done = !record.done;
  };
  return meanChangeMicros(() => makeMapDoc(count, bucketed), edit, changes);
}

export async function main() {
  const rows = [];
  await measure(1024, false, 500); // warm-up: let the JIT settle before anything is measured
  await measure(1024, true, 500);
  for (const [label, bytes] of [
    ['1 KB', 1024],
    ['1 MB', 1024 * 1024],
  ]) {
    const off = await measure(bytes, false, 500);
    const on = await measure(bytes, true, 500);
    rows.push({ document: label, 'µs/change (freeze off)': off.mean.toFixed(1), 'median µs/call (freeze off)': off.median.toFixed(1), 'µs/change (freeze on)': on.mean.toFixed(1) });
  }
  console.log('doc.change(): synchronous cost per call (optimistic apply + op recording); µs/change = mean over 500 changes (gc included), median of 7 runs; median µs/call = median of single calls');
  console.table(rows);

  const listRows = [];
  await measureListEdits(64 * 1024, 20); // warm-up
  listRows.push({ immer: 'as installed', ...(await measureListEdits(1024 * 1024, 20)) });
  enableArrayMethods();
  listRows.push({ immer: 'enableArrayMethods()', ...(await measureListEdits(1024 * 1024, 20)) });
  console.log('List edits on the 1 MB doc (a list of ~17,000 records): µs per doc.change(), mean over 20 changes, median of 5 runs');
  console.table(listRows.map(row => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'number' ? value.toFixed(0) : value]))));
  const mapRows = [];
  await measureMapEdits(1_000, false, 20); // warm-up
  for (const count of [1_000, 10_000]) {
    mapRows.push({ records: count, 'one object (µs/change)': await measureMapEdits(count, false, 50), 'in 100 buckets (µs/change)': await measureMapEdits(count, true, 50) });
  }
  console.log('Map edits: records in an object keyed by id, one record edited per doc.change(): µs per change, mean over 50 changes, median of 5 runs');
  console.table(mapRows.map(row => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'number' && key !== 'records' ? value.toFixed(0) : value]))));
  return { change: rows, listEdits: listRows, mapEdits: mapRows };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
