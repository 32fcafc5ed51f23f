// A long offline session (a writer on a plane): one OT doc edited through Patches with nothing
// sent, each doc.change() awaited with doc.flush() (a user typing), 20,000 edits; then the
// client comes back online and sends them all. Printed: µs per edit over each 5,000 (in
// `InMemoryStore`, and in `IndexedDBStore` on fake-indexeddb), whether it grows with the queue;
// and ms from connect() until the server holds every edit (the reference server on its memory
// store, in a child process). And an LWW doc given a new field per edit (10,000 of them, in 100
// bucket objects, so no object grows wide): µs per edit over each 2,500, with every field still
// pending. Run: npm run build && node bench/offlineSession.js
import 'fake-indexeddb/auto'; // idb recognises IDB objects through the global constructors
import { IDBFactory } from 'fake-indexeddb';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IndexedDBStore, InMemoryStore, Patches } from '../dist/index.js';
import { PatchesSync } from '../dist/net/index.js';
import { answerParent, forkChild } from './childProcess.js';
import { until } from './waits.js';

const EDITS = Number(process.env.OFFLINE_EDITS ?? 20_000);
const EVERY = 5_000;
const LWW_FIELDS = Number(process.env.OFFLINE_LWW_FIELDS ?? 10_000);
const LWW_EVERY = LWW_FIELDS / 4;
const BUCKETS = 100;
const WAIT_LIMIT_MS = 120_000;

/** Makes EDITS awaited edits on a new doc; resolves to the patches instance and µs per edit over each EVERY. */
async function editOffline(store) {
  const patches = new Patches({ store });
  const doc = await patches.openDoc('draft');
  doc.change(draft => {
    draft.words = 0;
  });
  await doc.flush();
  const perEdit = [];
  let start = performance.now();
  for (let i = 1; i <= EDITS; i++) {
    doc.change(draft => {
      draft.words = i;
    });
    await doc.flush();
    if (i % EVERY === 0) {
      perEdit.push(((performance.now() - start) / EVERY) * 1000);
      start = performance.now();
    }
  }
  return { patches, perEdit };
}

/** Gives an LWW doc LWW_FIELDS new fields, one per awaited edit; µs per edit over each LWW_EVERY. */
async function newFieldsOffline(store) {
  const patches = new Patches({ store });
  const doc = await patches.openDoc('settings', { algorithm: 'lww' });
  doc.change(draft => {
    for (let b = 0; b < BUCKETS; b++) draft[`b${b}`] = {};
  });
  await doc.flush();
  const perEdit = [];
  let start = performance.now();
  for (let i = 1; i <= LWW_FIELDS; i++) {
    doc.change(draft => {
      draft[`b${i % BUCKETS}`][`f${i}`] = i;
    });
    await doc.flush();
    if (i % LWW_EVERY === 0) {
      perEdit.push(((performance.now() - start) / LWW_EVERY) * 1000);
      start = performance.now();
    }
  }
  return perEdit;
}

/** ms from connect() until the server has committed every edit and nothing is pending. */
async function backOnline(patches, url) {
  const sync = new PatchesSync(patches, url);
  const errors = [];
  sync.onError(error => errors.push(error));
  const start = performance.now();
  await sync.connect();
  await until(sync.synced$, synced => synced.draft?.status === 'synced' && !synced.draft.hasPending && synced.draft.committedRev >= EDITS + 1, 'the offline edits all committed', WAIT_LIMIT_MS);
  const ms = performance.now() - start;
  sync.destroy();
  if (errors.length > 0) throw new Error(`bench: the client reported ${errors[0].name}: ${errors[0].message}`);
  return ms;
}

/** The child: the reference server on its memory store. */
async function serve() {
  const { startServer, MemoryServerStore } = await import('../dist/server/index.js');
  const server = await startServer({ port: 0, store: new MemoryServerStore() });
  answerParent({ port: server.port }, {}, () => server.close());
}

export async function main() {
  const memory = await editOffline(new InMemoryStore());
  const idb = await editOffline(new IndexedDBStore('offline-session', { indexedDB: new IDBFactory() }));
  const lwwMemory = await newFieldsOffline(new InMemoryStore());
  const lwwIdb = await newFieldsOffline(new IndexedDBStore('offline-fields', { indexedDB: new IDBFactory() }));
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve'], { waitLimitMs: WAIT_LIMIT_MS });
  let syncMs;
  try {
    syncMs = await backOnline(memory.patches, `ws://127.0.0.1:${child.ready.port}`);
  } finally {
    await child.close();
  }
  const columns = memory.perEdit.map((_, i) => `edits ${(i * EVERY + 1).toLocaleString('en-US')}–${((i + 1) * EVERY).toLocaleString('en-US')} (µs each)`);
  const rows = [
    { store: 'InMemoryStore', ...Object.fromEntries(columns.map((column, i) => [column, memory.perEdit[i].toFixed(0)])) },
    { store: 'IndexedDBStore (fake-indexeddb)', ...Object.fromEntries(columns.map((column, i) => [column, idb.perEdit[i].toFixed(0)])) },
  ];
  console.log(`A long offline session: ${EDITS.toLocaleString('en-US')} doc.change() + flush() on one OT doc, nothing sent`);
  console.table(rows);
  console.log(`Back online (InMemoryStore): all ${EDITS.toLocaleString('en-US')} edits committed ${syncMs.toFixed(0)} ms after connect()`);
  const lwwColumns = lwwMemory.map((_, i) => `fields ${(i * LWW_EVERY + 1).toLocaleString('en-US')}–${((i + 1) * LWW_EVERY).toLocaleString('en-US')} (µs each)`);
  console.log(`\nAn LWW doc offline: ${LWW_FIELDS.toLocaleString('en-US')} doc.change() + flush(), each a new field (in ${BUCKETS} bucket objects), all pending`);
  console.table([
    { store: 'InMemoryStore', ...Object.fromEntries(lwwColumns.map((column, i) => [column, lwwMemory[i].toFixed(0)])) },
    { store: 'IndexedDBStore (fake-indexeddb)', ...Object.fromEntries(lwwColumns.map((column, i) => [column, lwwIdb[i].toFixed(0)])) },
  ]);
  return { offlineSession: { memory: memory.perEdit, idb: idb.perEdit, backOnlineMs: syncMs, edits: EDITS, lwwMemory, lwwIdb, lwwFields: LWW_FIELDS } };
}

if (process.argv[2] === '--serve') await serve();
else if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
