// IndexedDBStore in real Chromium (headless Debian /usr/bin/chromium through playwright-core,
// on a disk-backed temp profile), the same figures as bench/store.js measures on fake-indexeddb:
//  - open: a new store instance (new connection) reads a doc with 10,000 committed changes and
//    1,000 pending (getDoc); then the same through a new Patches (openDoc: store read + the view
//    with the 1,000 pending changes applied);
//  - write: 1,000 pending changes, as one savePendingChanges call and as 1,000 single-change calls;
//  - received: changes received by an open ~1 MB doc, each written as OTAlgorithm writes it, and
//    the same doc closed, each change applied through Patches (as an OT doc, then as an LWW doc);
//  - offline edits: 3,000 doc.change() calls through Patches with nothing sent (each awaited with
//    doc.flush(), as a user typing offline), ms per change in each run of 1,000, as the queue grows:
//    an OT doc (20 fields set over and over) and an LWW doc (a new field each time, so its pending
//    ops grow too; the same field again would replace its op).
// The built package (dist/) is bundled with esbuild and served from 127.0.0.1. Each figure is the
// median of 5 runs. Run: npm run build && node bench/browserStore.js
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, requireChromium, servePage } from './browserPage.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SETTINGS = { committed: 10_000, pending: 1_000, runs: 5 };
const RECEIVED = { records: 10_000, received: 60 };
const OFFLINE = { total: 3_000, every: 1_000 };

/** Runs inside the page (serialized by playwright, so it uses nothing from this module). */
async function runInBrowser({ committed, pending, runs }) {
  const { IndexedDBStore, Patches } = window.patchesRx;
  const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const state = { title: 'bench', records: Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, title: `Record ${i}`, done: false, n: i })) };
  const localChange = i => ({ id: `local${i}`, ops: [{ op: 'replace', path: `/records/${i % 300}/done`, value: true }], baseRev: committed, rev: 0, createdAt: 1_700_000_000_000, committedAt: 0 });
  const committedChange = rev => ({ id: `c${rev}`, ops: [{ op: 'replace', path: `/records/${rev % 300}/n`, value: rev }], baseRev: rev - 1, rev, createdAt: 1_700_000_000_000, committedAt: 1_700_000_000_001 });
  const check = doc => {
    if (!doc || doc.committedRev !== committed || doc.pending.length !== pending) throw new Error('bench setup is wrong');
  };
  const drop = name =>
    new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
  // Keep all rows so the doc really has that much history (the default compaction keeps 200).
  const options = { compactEvery: Infinity };
  const figures = { open: [], warm: [], openDoc: [], batch: [], single: [] };

  for (let run = 0; run < runs; run++) {
    const name = `open-${run}`;
    const writer = new IndexedDBStore(name, options);
    await writer.trackDocs(['doc'], 'ot');
    for (let from = 1; from <= committed; from += 500) {
      const changes = Array.from({ length: 500 }, (_, i) => committedChange(from + i));
      await writer.applyServerChanges('doc', { state, rev: from + 499, changes });
    }
    await writer.savePendingChanges('doc', Array.from({ length: pending }, (_, i) => localChange(i)));
    if ((await writer.listChanges('doc')).length !== committed) throw new Error('history was compacted');
    await writer.close();

    const store = new IndexedDBStore(name, options);
    let start = performance.now();
    check(await store.getDoc('doc'));
    figures.open.push(performance.now() - start);
    start = performance.now();
    check(await store.getDoc('doc'));
    figures.warm.push(performance.now() - start);
    await store.close();

    const patches = new Patches({ store: new IndexedDBStore(name, options) });
    start = performance.now();
    const doc = await patches.openDoc('doc');
    figures.openDoc.push(performance.now() - start);
    if (doc.committedRev !== committed || !doc.state.records[0].done) throw new Error('openDoc read the wrong doc');
    await patches.close();
    await drop(name);
  }

  for (let run = 0; run < runs; run++) {
    for (const mode of ['batch', 'single']) {
      const name = `write-${mode}-${run}`;
      const store = new IndexedDBStore(name);
      await store.trackDocs(['doc'], 'ot');
      await store.getDoc('doc'); // connection open before timing
      const start = performance.now();
      if (mode === 'batch') await store.savePendingChanges('doc', Array.from({ length: pending }, (_, i) => localChange(i)));
      else for (let i = 0; i < pending; i++) await store.savePendingChanges('doc', [localChange(i)]);
      figures[mode].push(performance.now() - start);
      if ((await store.getPendingChanges('doc')).length !== pending) throw new Error('lost a write');
      await store.close();
      await drop(name);
    }
  }
  return Object.fromEntries(Object.entries(figures).map(([key, values]) => [key, median(values)]));
}

/**
 * Runs inside the page: an open doc of ~0.9 MB (10,000 records) receives 60 changes one at a
 * time, as `OTAlgorithm` writes them (`replayable`); ms per write and for a new instance's
 * `getDoc` after them, with the whole state written every time (`snapshotEvery: 1`, what the
 * store did before) and every 50 revisions (the default).
 */
async function receiveInBrowser({ records, received }) {
  const { IndexedDBStore, Patches } = window.patchesRx;
  const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const state = { records: Object.fromEntries(Array.from({ length: records }, (_, i) => [`r${i}`, { id: `r${i}`, title: `Record number ${i} with some text`, done: false, n: i }])) };
  const out = { bytes: JSON.stringify(state).length };
  for (const snapshotEvery of [1, 50]) {
    const name = `received-${snapshotEvery}`;
    const store = new IndexedDBStore(name, { snapshotEvery });
    await store.trackDocs(['doc'], 'ot');
    await store.saveDoc('doc', { state, rev: 0 });
    let current = state;
    const writes = [];
    for (let rev = 1; rev <= received; rev++) {
      const key = `r${rev % records}`;
      current = { ...current, records: { ...current.records, [key]: { ...current.records[key], n: -rev } } };
      const change = { id: `c${rev}`, ops: [{ op: 'replace', path: `/records/${key}/n`, value: -rev }], baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 };
      const start = performance.now();
      await store.applyServerChanges('doc', { state: current, rev, changes: [change], replayable: true, expect: { committedRev: rev - 1 } });
      writes.push(performance.now() - start);
    }
    await store.close();
    const reader = new IndexedDBStore(name, { snapshotEvery });
    const start = performance.now();
    const read = await reader.getDoc('doc');
    const readMs = performance.now() - start;
    if (read.committedRev !== received || read.state.records.r1.n !== -1 || read.state.records[`r${received}`].n !== -received) throw new Error('read the wrong state');
    await reader.close();
    out[snapshotEvery] = { write: median(writes), read: readMs };
  }
  // The same doc closed in a Patches that applies server changes to it (a tab leading the
  // connection while another tab shows the doc): read, compute, write, per change; as an OT doc,
  // then as an LWW doc (timestamped ops).
  const closedApplies = async (algorithm) => {
    const patches = new Patches({ store: new IndexedDBStore(`received-closed-${algorithm}`) });
    await patches.trackDocs(['doc'], algorithm);
    await patches.store.saveDoc('doc', { state, rev: 0 });
    const applies = [];
    for (let rev = 1; rev <= received; rev++) {
      const key = `r${rev % records}`;
      const op = { op: 'replace', path: `/records/${key}/n`, value: -rev, ...(algorithm === 'lww' ? { ts: rev } : {}) };
      const change = { id: `c${rev}`, ops: [op], baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 };
      const start = performance.now();
      await patches.runExclusive('doc', () => patches.algorithms[algorithm].applyServerChanges('doc', [change]));
      applies.push(performance.now() - start);
    }
    const check = await patches.store.getDoc('doc');
    if (check.committedRev !== received || check.state.records.r1.n !== -1) throw new Error(`applied the wrong ${algorithm} state`);
    await patches.close();
    return median(applies);
  };
  out.closed = await closedApplies('ot');
  out.closedLww = await closedApplies('lww');
  return out;
}

/** Runs inside the page: offline edits through Patches, ms per change() + flush() in each run of `every`. */
async function offlineInBrowser({ total, every, algorithm }) {
  const { IndexedDBStore, Patches } = window.patchesRx;
  const store = new IndexedDBStore(`offline-${algorithm}-${Date.now()}`);
  const patches = new Patches({ store });
  const doc = await patches.openDoc('notes', { algorithm });
  const runs = [];
  let start = performance.now();
  for (let i = 1; i <= total; i++) {
    doc.change(draft => {
      draft[algorithm === 'ot' ? `f${i % 20}` : `f${i}`] = i;
    });
    await doc.flush();
    if (i % every === 0) {
      runs.push((performance.now() - start) / every);
      start = performance.now();
    }
  }
  await patches.close();
  return runs;
}

/** Serves a page whose script exposes the built package as `window.patchesRx`. */
function startPage() {
  return servePage({
    stdin: { contents: "export * as patchesRx from './dist/index.js';", resolveDir: root, loader: 'js' },
    globalName: 'bundle',
    footer: { js: 'window.patchesRx = bundle.patchesRx;' },
  });
}

export async function main() {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  requireChromium();
  const page = await startPage();
  const profile = mkdtempSync(join(tmpdir(), 'patches-rx-bench-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  let figures;
  let received;
  let offline;
  let version;
  try {
    const tab = context.pages()[0] ?? (await context.newPage());
    await tab.goto(page.url);
    version = (await (await context.newCDPSession(tab)).send('Browser.getVersion')).product;
    figures = await tab.evaluate(runInBrowser, SETTINGS);
    received = await tab.evaluate(receiveInBrowser, RECEIVED);
    offline = { ot: await tab.evaluate(offlineInBrowser, { ...OFFLINE, algorithm: 'ot' }), lww: await tab.evaluate(offlineInBrowser, { ...OFFLINE, algorithm: 'lww' }) };
  } finally {
    await context.close();
    await page.close();
    rmSync(profile, { recursive: true, force: true });
  }
  const rows = [
    {
      store: 'IndexedDBStore (Chromium)',
      'open doc, new connection (ms)': figures.open.toFixed(1),
      'getDoc, warm (ms)': figures.warm.toFixed(1),
      'Patches.openDoc, new store (ms)': figures.openDoc.toFixed(1),
      '1,000 pending, 1 call (ms)': figures.batch.toFixed(1),
      '1,000 pending, 1,000 calls (ms)': figures.single.toFixed(1),
    },
  ];
  console.log(
    `Client store in ${version}: one OT doc with ${SETTINGS.committed} committed changes and ${SETTINGS.pending} pending; median of ${SETTINGS.runs} runs`,
  );
  console.table(rows);
  const receivedRows = [1, 50].map(every => ({
    'whole state written': every === 1 ? 'every change (as before)' : `every ${every} revisions (default)`,
    'received change, write (ms, median)': received[every].write.toFixed(1),
    'new instance getDoc after them (ms)': received[every].read.toFixed(1),
  }));
  console.log(`An open OT doc of ${(received.bytes / 1e6).toFixed(2)} MB JSON receives ${RECEIVED.received} changes, one write each:`);
  console.table(receivedRows);
  console.log(`The same doc closed, each change applied by Patches (read, compute, write): median ${received.closed.toFixed(1)} ms per change (OT), ${received.closedLww.toFixed(1)} ms (the same as an LWW doc)`);
  const offlineRows = Object.entries(offline).map(([algorithm, runs]) => ({
    doc: algorithm === 'ot' ? 'OT' : 'LWW, a new field each time',
    ...Object.fromEntries(runs.map((ms, i) => [`changes ${(i * OFFLINE.every + 1).toLocaleString('en-US')}–${((i + 1) * OFFLINE.every).toLocaleString('en-US')} (ms each)`, ms.toFixed(2)])),
  }));
  console.log(`Offline edits: ${OFFLINE.total.toLocaleString('en-US')} doc.change() calls through Patches, nothing sent, each awaited with doc.flush():`);
  console.table(offlineRows);
  return { browserStore: rows, browserStoreReceived: receivedRows, browserStoreClosedApply: received.closed, browserStoreClosedApplyLww: received.closedLww, browserStoreOffline: offline };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
