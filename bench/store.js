// Client store costs on fake-indexeddb (Node; Chromium figures come later) and in memory:
//  - open: a fresh store instance (new connection) reads a doc that has 10,000 committed changes
//    and 1,000 pending changes (getDoc): the state is stored every 50 revisions, so opening
//    replays at most the 49 history rows received since;
//  - write: 1,000 pending changes, as one savePendingChanges call and as 1,000 single-change calls.
// Each figure is the median of 5 runs. Run: npm run build && node bench/store.js
import 'fake-indexeddb/auto'; // idb recognises IDB objects through the global constructors
import { IDBFactory } from 'fake-indexeddb';
import { pathToFileURL } from 'node:url';
import { InMemoryStore } from '../dist/stores/InMemoryStore.js';
import { IndexedDBStore } from '../dist/stores/IndexedDBStore.js';
import { median } from './waits.js';

const COMMITTED = 10_000;
const PENDING = 1_000;
const RUNS = 5;

function ms(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A ~30 KB state: 300 small records. */
function makeState() {
  return { title: 'bench', records: Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, title: `Record ${i}`, done: false, n: i })) };
}

function localChange(i) {
  return { id: `local${i}`, ops: [{ op: 'replace', path: `/records/${i % 300}/done`, value: true }], baseRev: COMMITTED, rev: 0, createdAt: 1_700_000_000_000, committedAt: 0 };
}

function committedChange(rev) {
  return { id: `c${rev}`, ops: [{ op: 'replace', path: `/records/${rev % 300}/n`, value: rev }], baseRev: rev - 1, rev, createdAt: 1_700_000_000_000, committedAt: 1_700_000_000_001 };
}

/** A store holding one OT doc with COMMITTED history rows (applied in batches of 500) and PENDING pending changes. */
async function fill(store) {
  await store.trackDocs(['doc'], 'ot');
  const state = makeState();
  for (let from = 1; from <= COMMITTED; from += 500) {
    const changes = Array.from({ length: 500 }, (_, i) => committedChange(from + i));
    await store.applyServerChanges('doc', { state, rev: from + 499, changes });
  }
  await store.savePendingChanges('doc', Array.from({ length: PENDING }, (_, i) => localChange(i)));
}

async function checkDoc(doc) {
  if (!doc || doc.committedRev !== COMMITTED || doc.pending.length !== PENDING) throw new Error('bench setup is wrong');
}

async function openFigures(kind) {
  const runs = [];
  const warm = [];
  for (let run = 0; run < RUNS; run++) {
    if (kind === 'memory') {
      const store = new InMemoryStore();
      await fill(store);
      const start = process.hrtime.bigint();
      await checkDoc(await store.getDoc('doc'));
      runs.push(ms(start));
      continue;
    }
    const indexedDB = new IDBFactory();
    // Keep all 10,000 rows so the doc really has that much history (the default keeps 200).
    const writer = new IndexedDBStore('bench', { indexedDB, compactEvery: Infinity });
    await fill(writer);
    if ((await writer.listChanges('doc')).length !== COMMITTED) throw new Error('history was compacted');
    await writer.close();
    const store = new IndexedDBStore('bench', { indexedDB, compactEvery: Infinity });
    let start = process.hrtime.bigint();
    await checkDoc(await store.getDoc('doc'));
    runs.push(ms(start));
    start = process.hrtime.bigint();
    await checkDoc(await store.getDoc('doc'));
    warm.push(ms(start));
    await store.close();
  }
  return { cold: median(runs), warm: warm.length ? median(warm) : undefined };
}

async function writeFigures(make) {
  const batch = [];
  const single = [];
  for (let run = 0; run < RUNS; run++) {
    let store = await make();
    await store.trackDocs(['doc'], 'ot');
    await store.getDoc('doc'); // connection open before timing
    let start = process.hrtime.bigint();
    await store.savePendingChanges('doc', Array.from({ length: PENDING }, (_, i) => localChange(i)));
    batch.push(ms(start));
    await store.close();

    store = await make();
    await store.trackDocs(['doc'], 'ot');
    await store.getDoc('doc');
    start = process.hrtime.bigint();
    for (let i = 0; i < PENDING; i++) await store.savePendingChanges('doc', [localChange(i)]);
    single.push(ms(start));
    if ((await store.getPendingChanges('doc')).length !== PENDING) throw new Error('lost a write');
    await store.close();
  }
  return { batch: median(batch), single: median(single) };
}

export async function main() {
  const idbOpen = await openFigures('idb');
  const memOpen = await openFigures('memory');
  const idbWrite = await writeFigures(() => new IndexedDBStore('bench', { indexedDB: new IDBFactory() }));
  const memWrite = await writeFigures(() => new InMemoryStore());
  const rows = [
    {
      store: 'IndexedDBStore (fake-indexeddb)',
      'open doc, new connection (ms)': idbOpen.cold.toFixed(1),
      'getDoc, warm (ms)': idbOpen.warm.toFixed(1),
      '1,000 pending, 1 call (ms)': idbWrite.batch.toFixed(1),
      '1,000 pending, 1,000 calls (ms)': idbWrite.single.toFixed(1),
    },
    {
      store: 'InMemoryStore',
      'open doc, new connection (ms)': '-',
      'getDoc, warm (ms)': memOpen.cold.toFixed(1),
      '1,000 pending, 1 call (ms)': memWrite.batch.toFixed(1),
      '1,000 pending, 1,000 calls (ms)': memWrite.single.toFixed(1),
    },
  ];
  console.log(`Client store: one OT doc with ${COMMITTED} committed changes and ${PENDING} pending; median of ${RUNS} runs`);
  console.table(rows);
  return { store: rows };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
