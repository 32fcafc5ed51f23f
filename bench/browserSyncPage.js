// The page of bench/browserSync.js: one user's app (Patches + a store + PatchesSync) on the built
// package, bundled by esbuild and driven by the bench through `window.benchSync`. Its edits are
// bench/pairEdit.js's, so it makes the same changes as bench/sync.js in Node.
import { IndexedDBStore, InMemoryStore, Patches, PatchesSync } from '../dist/index.js';
import { filter, firstValueFrom, throwError, timeout } from 'rxjs';
import { edit, seed } from './pairEdit.js';

const LIMIT_MS = 60_000;

/** Milliseconds on a clock both pages share (wall-clock origin + monotonic offset). */
const clock = () => performance.timeOrigin + performance.now();

let app;

// Store calls by method, in both stores, so the bench can tell which calls the transactions are.
const STORE_METHODS = [
  'trackDocs', 'untrackDocs', 'listDocs', 'getDoc', 'getCommittedRev', 'saveDoc', 'deleteDoc', 'confirmDeleteDoc', 'getPendingChanges', 'savePendingChanges',
  'replacePendingChanges', 'listChanges', 'applyServerChanges', 'getPendingOps', 'savePendingOps', 'getSendingChange', 'saveSendingChange', 'getQueue',
];
const storeCalls = {};
for (const Store of [IndexedDBStore, InMemoryStore]) {
  for (const method of STORE_METHODS) {
    const call = Store.prototype[method];
    if (typeof call !== 'function') continue;
    Store.prototype[method] = function (...args) {
      storeCalls[method] = (storeCalls[method] ?? 0) + 1;
      if (!window.benchTrace) return call.apply(this, args);
      trace(`${method} >`);
      const result = call.apply(this, args);
      result.then(() => trace(`${method} <`), () => trace(`${method} !`));
      return result;
    };
  }
}

/** Notes `what` with the time in the page's trace, when the bench asked for one (BROWSER_SYNC_TRACE). */
function trace(what) {
  window.benchTrace?.push([performance.now(), what]);
}

/** Zeroes the counts of store calls, IndexedDB transactions and channel posts (the latter two kept by the bench's init script). */
function resetCounts() {
  for (const method of Object.keys(storeCalls)) delete storeCalls[method];
  Object.assign(window.idbCounts, { readonly: 0, readwrite: 0, ms: 0, storePosts: 0, tabsPosts: 0, storePostMs: 0, tabsPostMs: 0 });
}

/** The counts since `resetCounts`. */
function counts() {
  return { ...window.idbCounts, storeCalls: { ...storeCalls } };
}

/** The first value of `source$` matching `predicate`; fails after LIMIT_MS, naming `what`. */
function until(source$, predicate, what) {
  return firstValueFrom(
    source$.pipe(
      filter(predicate),
      timeout({ first: LIMIT_MS, with: () => throwError(() => new Error(`bench page: timed out waiting for ${what}`)) }),
    ),
  );
}

const isSettled = entry => entry !== undefined && entry.status === 'synced' && !entry.hasPending;

/** Resolves with the doc's entry once it is synced, nothing pending, at `rev` or later. */
function synced(rev, what) {
  return until(app.sync.synced$, all => isSettled(all[app.docId]) && all[app.docId].committedRev >= rev, what).then(all => all[app.docId]);
}

/**
 * Opens the store, connects and opens the doc (creating it with `create`), then resolves once
 * the doc is synced at rev 1 or later.
 */
async function start({ url, store, dbName, docId, algorithm, create }) {
  const errors = [];
  const patches = new Patches({ store: store === 'IndexedDBStore' ? new IndexedDBStore(dbName) : new InMemoryStore() });
  const sync = new PatchesSync(patches, url, { reconnectDelay: 10, maxReconnectDelay: 50 });
  sync.onError(error => errors.push(`sync: ${error.name}: ${error.message}`));
  patches.onError(error => errors.push(`patches: ${error.name}: ${error.message}`));
  // When the doc was first shown synced with nothing pending at each rev, so the bench can ask
  // when the head was reached after it was reached.
  const settledAt = new Map();
  sync.synced$.subscribe(all => {
    const entry = all[docId];
    if (isSettled(entry) && !settledAt.has(entry.committedRev)) settledAt.set(entry.committedRev, clock());
  });
  app = { patches, sync, errors, settledAt, docId, store, dbName };
  await sync.connect();
  app.doc = await patches.openDoc(docId, { algorithm });
  if (create) {
    app.doc.change(seed(algorithm));
  }
  await synced(1, 'the doc at rev 1');
}

/**
 * Makes `count` paced edits as client `who`: each waits until the previous one is committed
 * (synced, nothing pending). Returns when the first edit was made and how many waits found the
 * doc's committed rev not advanced (a wait that did not really wait would make it a burst).
 */
async function edits({ who, count, algorithm }) {
  const start = clock();
  let rev = app.sync.synced[app.docId].committedRev;
  let unpaced = 0;
  for (let i = 0; i < count; i++) {
    trace(`edit ${i}`);
    app.doc.change(edit(algorithm, who, i));
    await app.doc.flush();
    trace('flushed');
    const entry = await synced(0, `edit ${i} to be committed`);
    trace('synced');
    if (entry.committedRev <= rev) unpaced++;
    rev = entry.committedRev;
  }
  return { start, unpaced };
}

/** When the doc was first synced at `head` or later with nothing pending (waits for it if need be). */
async function reached(head) {
  await synced(head, `the server head ${head}`);
  return Math.min(...[...app.settledAt].filter(([rev]) => rev >= head).map(([, at]) => at));
}

/** Disconnects, closes the store (deleting its database) and returns the doc's state and the errors seen. */
async function finish() {
  const state = app.doc.state;
  app.sync.destroy();
  await app.patches.close();
  if (app.store === 'IndexedDBStore') {
    await new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(app.dbName);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error(`bench page: deleting ${app.dbName} is blocked`));
    });
  }
  return { state, errors: app.errors };
}

window.benchSync = { start, resetCounts, edits, reached, counts, finish };
