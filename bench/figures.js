// The headline figures of each benchmark, read out of what its main() returns, so `npm run
// bench` can print each beside its baseline (bench/baseline.json) and bench/baseline.js can
// write that file. `better` says which way is an improvement.

const server = (scenario, store) => (r) => r.find((row) => row.scenario === scenario && row.store === store)?.perSecond;
const bundle = (app) => (r) => r.find((row) => row.app === app)?.gzipKB;
const change = (document, column) => (r) => Number(r.change.find((row) => row.document === document)?.[column]);
const idb = (column) => (r) => Number(r.store.find((row) => row.store.startsWith('IndexedDBStore'))?.[column]);

/** @type {Record<string, Array<{ name: string, unit: string, better: 'lower' | 'higher', get: (result: any) => number | undefined }>>} */
export const FIGURES = {
  bundle: [
    { name: 'OT app (Patches + IndexedDBStore + PatchesSync), gzip -9', unit: 'KB', better: 'lower', get: bundle('OT app') },
    { name: 'LWW app, gzip -9', unit: 'KB', better: 'lower', get: bundle('LWW app') },
    { name: '@txt app, gzip -9', unit: 'KB', better: 'lower', get: bundle('@txt app') },
  ],
  change: [
    { name: 'doc.change() on a 1 KB doc', unit: 'µs', better: 'lower', get: change('1 KB', 'µs/change (freeze off)') },
    { name: 'doc.change() on a 1 MB doc', unit: 'µs', better: 'lower', get: change('1 MB', 'µs/change (freeze off)') },
    { name: 'doc.change() on a 1 MB doc, median call', unit: 'µs', better: 'lower', get: change('1 MB', 'median µs/call (freeze off)') },
    { name: 'doc.change() removing a record from the middle of a 17,000-record list', unit: 'µs', better: 'lower', get: (r) => r.listEdits?.[0]?.['remove from the middle'] },
    { name: 'the same with immer enableArrayMethods()', unit: 'µs', better: 'lower', get: (r) => r.listEdits?.[1]?.['remove from the middle'] },
    { name: 'doc.change() editing a record of a map of 10,000 records in one object', unit: 'µs', better: 'lower', get: (r) => r.mapEdits?.[1]?.['one object (µs/change)'] },
    { name: 'the same with the records in 100 bucket objects', unit: 'µs', better: 'lower', get: (r) => r.mapEdits?.[1]?.['in 100 buckets (µs/change)'] },
  ],
  algorithms: [
    { name: 'apply one change, 10 MB doc', unit: 'µs', better: 'lower', get: (r) => r.algorithms.apply10MB },
    { name: 'rebase 100 pending × 100 server', unit: 'µs', better: 'lower', get: (r) => r.algorithms.rebase100x100 },
    { name: 'rebase 1000 pending × 1000 server', unit: 'µs', better: 'lower', get: (r) => r.algorithms.rebase1000x1000 },
  ],
  store: [
    { name: 'IndexedDBStore (fake): open a doc, 10k committed + 1k pending', unit: 'ms', better: 'lower', get: idb('open doc, new connection (ms)') },
    { name: 'IndexedDBStore (fake): 1,000 pending in one call', unit: 'ms', better: 'lower', get: idb('1,000 pending, 1 call (ms)') },
  ],
  tabsAnnounce: [
    { name: 'a status change until a following tab shows it, 1,000 tracked docs', unit: 'ms', better: 'lower', get: (r) => r.find((row) => row.docs === 1_000)?.msPerChange },
    { name: 'the same, 5,000 tracked docs', unit: 'ms', better: 'lower', get: (r) => r.find((row) => row.docs === 5_000)?.msPerChange },
  ],
  offlineSession: [
    { name: 'a long offline session: µs per OT change() + flush() at 15,001–20,000 pending (InMemoryStore)', unit: 'µs', better: 'lower', get: (r) => r.offlineSession?.memory?.[3] },
    { name: 'the same in IndexedDBStore (fake-indexeddb)', unit: 'µs', better: 'lower', get: (r) => r.offlineSession?.idb?.[3] },
    { name: 'back online: ms until all 20,000 offline edits are committed', unit: 'ms', better: 'lower', get: (r) => r.offlineSession?.backOnlineMs },
    { name: 'an LWW doc offline: µs per change() + flush() adding fields 7,501–10,000, all pending (InMemoryStore)', unit: 'µs', better: 'lower', get: (r) => r.offlineSession?.lwwMemory?.[3] },
    { name: 'the same in IndexedDBStore (fake-indexeddb)', unit: 'µs', better: 'lower', get: (r) => r.offlineSession?.lwwIdb?.[3] },
  ],
  browserStore: [
    { name: 'Chromium, offline OT edits: ms per change() + flush() at 2,000–3,000 pending', unit: 'ms', better: 'lower', get: (r) => r.browserStoreOffline?.ot?.[2] },
    { name: 'Chromium, offline LWW edits: the same at 2,000–3,000 pending ops', unit: 'ms', better: 'lower', get: (r) => r.browserStoreOffline?.lww?.[2] },
  ],
  offlineTabs: [
    { name: 'Chromium, offline OT edits with another tab following: ms per change at 1,501–2,000 pending', unit: 'ms', better: 'lower', get: (r) => r.offlineTabs?.runs?.[3] },
    { name: 'Chromium, offline LWW edits (a new field each) with another tab following: ms per change at 1,501–2,000 fields', unit: 'ms', better: 'lower', get: (r) => r.offlineTabs?.lwwRuns?.[3] },
  ],
  browserSync: [
    { name: 'Chromium paced OT, IndexedDBStore: ms per change', unit: 'ms', better: 'lower', get: (r) => r.figures['IndexedDBStore ot']?.msPerChange },
    { name: 'Chromium paced OT, IndexedDBStore: IDB transactions/change', unit: 'tx', better: 'lower', get: (r) => r.figures['IndexedDBStore ot'] && r.figures['IndexedDBStore ot'].readonly + r.figures['IndexedDBStore ot'].readwrite },
    { name: 'Chromium paced LWW, IndexedDBStore: ms per change', unit: 'ms', better: 'lower', get: (r) => r.figures['IndexedDBStore lww']?.msPerChange },
    { name: 'Chromium paced OT, InMemoryStore: ms per change', unit: 'ms', better: 'lower', get: (r) => r.figures['InMemoryStore ot']?.msPerChange },
  ],
  server: [
    { name: 'memory store, 1 doc, 1 client', unit: 'commits/s', better: 'higher', get: server('1 doc, 1 client', 'memory') },
    { name: 'memory store, 100 busy docs (100 clients)', unit: 'commits/s', better: 'higher', get: server('100 busy docs', 'memory') },
    { name: 'durable store, 1 doc, 1 client', unit: 'commits/s', better: 'higher', get: server('1 doc, 1 client', 'file+fsync') },
    { name: 'durable store, 1 doc, 10 clients', unit: 'commits/s', better: 'higher', get: server('1 doc, 10 clients', 'file+fsync') },
    { name: 'durable store, 100 docs, 10 clients', unit: 'commits/s', better: 'higher', get: server('100 docs, 10 clients', 'file+fsync') },
    { name: 'durable store, 100 busy docs (100 clients)', unit: 'commits/s', better: 'higher', get: server('100 busy docs', 'file+fsync') },
    { name: 'durable store alone, 100 docs appending at once', unit: 'commits/s', better: 'higher', get: server('store only, 100 docs', 'file+fsync') },
  ],
  lwwServer: [
    { name: 'server: µs per paced one-field commit to an LWW doc of 100,000 fields', unit: 'µs', better: 'lower', get: (r) => r.lwwServer?.find((row) => row.fields === 100_000)?.pacedMicros },
    { name: 'server: ms to store 100,000 fields of an LWW doc in commits of 8,000 ops', unit: 'ms', better: 'lower', get: (r) => r.lwwServer?.find((row) => row.fields === 100_000)?.storeMs },
    { name: 'server: µs per commit to a small LWW doc over commits 50,001–60,000 of its history', unit: 'µs', better: 'lower', get: (r) => r.lwwHistory?.[5] },
  ],
  docs: [
    { name: '200 new docs, one change each: all synced', unit: 'ms', better: 'lower', get: (r) => r.newDocsMs },
    { name: '200 existing docs, track + one change each: all synced', unit: 'ms', better: 'lower', get: (r) => r.existingDocsMs },
  ],
  scale: [
    { name: 'server heap per 1,000 idle connections', unit: 'MB', better: 'lower', get: (r) => r.heapMBPer1000Connections },
    { name: 'server RSS per 1,000 idle connections', unit: 'MB', better: 'lower', get: (r) => r.rssMBPer1000Connections },
    { name: 'server heap per 10,000 tracked docs', unit: 'MB', better: 'lower', get: (r) => r.heapMBPer10000Docs },
    { name: 'server RSS per 10,000 tracked docs', unit: 'MB', better: 'lower', get: (r) => r.rssMBPer10000Docs },
  ],
  compression: [
    { name: 'paced OT wire, default (large frames)', unit: 'B/change', better: 'lower', get: (r) => r.settings.default?.ot.bytesPerChange },
    { name: 'paced OT wire, all frames', unit: 'B/change', better: 'lower', get: (r) => r.settings['all frames']?.ot.bytesPerChange },
    { name: 'paced LWW wire, all frames', unit: 'B/change', better: 'lower', get: (r) => r.settings['all frames']?.lww.bytesPerChange },
    { name: 'server CPU per paced OT change, default', unit: 'µs', better: 'lower', get: (r) => r.settings.default?.ot.cpuMicrosPerChange },
    { name: 'server CPU per paced OT change, all frames', unit: 'µs', better: 'lower', get: (r) => r.settings['all frames']?.ot.cpuMicrosPerChange },
    { name: 'RSS per active connection over off, all frames', unit: 'KB', better: 'lower', get: (r) => r.settings['all frames'] && r.settings['all frames'].active.activeRssKB - r.settings.off.active.activeRssKB },
  ],
  sync: [
    { name: 'OT 2 × 2,000 burst: converge', unit: 'ms', better: 'lower', get: (r) => r.ot.convergeMs },
    { name: 'OT 2 × 2,000 burst: wire', unit: 'B/change', better: 'lower', get: (r) => r.ot.bytesPerChange },
    { name: 'OT 2 × 2,000 paced: converge', unit: 'ms', better: 'lower', get: (r) => r.otPaced.convergeMs },
    { name: 'OT 2 × 2,000 paced: wire', unit: 'B/change', better: 'lower', get: (r) => r.otPaced.bytesPerChange },
    { name: 'OT 2 × 2,000 paced: client process CPU', unit: 'µs/change', better: 'lower', get: (r) => r.otPaced.cpuMicrosPerChange },
    { name: 'LWW 2 × 2,000 burst: converge', unit: 'ms', better: 'lower', get: (r) => r.lww.convergeMs },
    { name: 'LWW 2 × 2,000 burst: wire', unit: 'B/change', better: 'lower', get: (r) => r.lww.bytesPerChange },
    { name: 'LWW 2 × 2,000 paced: converge', unit: 'ms', better: 'lower', get: (r) => r.lwwPaced.convergeMs },
    { name: 'LWW 2 × 2,000 paced: wire', unit: 'B/change', better: 'lower', get: (r) => r.lwwPaced.bytesPerChange },
    { name: 'LWW 2 × 2,000 paced: client process CPU', unit: 'µs/change', better: 'lower', get: (r) => r.lwwPaced.cpuMicrosPerChange },
    { name: 'resync 1,000 tracked docs after a reconnect', unit: 'ms', better: 'lower', get: (r) => r.resync.resyncMs },
    { name: 'resync 1,000 tracked docs: frames to the server', unit: 'frames', better: 'lower', get: (r) => r.resync.frames },
    { name: 'resync 1,000 tracked docs: frames to the client', unit: 'frames', better: 'lower', get: (r) => r.resync.framesToClient },
    { name: 'idle client heap per tracked doc', unit: 'B', better: 'lower', get: (r) => r.memory.bytesPerDoc },
    { name: 'one change on a 10 MB doc, seen by the other client', unit: 'ms', better: 'lower', get: (r) => r.big.seenMs },
  ],
};

/** Reads a benchmark's figures out of its result: `{ [name]: value }` (missing ones left out). */
export function figuresOf(bench, result) {
  const out = {};
  for (const figure of FIGURES[bench] ?? []) {
    let value;
    try {
      value = figure.get(result);
    } catch {
      value = undefined;
    }
    if (typeof value === 'number' && Number.isFinite(value)) out[figure.name] = value;
  }
  return out;
}


/** Prints each figure of `bench` with its baseline beside it and the ratio today / baseline. */
export function printAgainstBaseline(bench, result, baseline, log = console.log) {
  const today = figuresOf(bench, result);
  const before = baseline?.figures?.[bench] ?? {};
  if (Object.keys(today).length === 0) return;
  const digits = (value) => (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  const format = (value) => (value === undefined ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: digits(value), minimumFractionDigits: digits(value) }));
  log(`\n  ${bench} vs bench/baseline.json (${baseline?.measured?.date?.slice(0, 10) ?? 'no baseline'}):`);
  log(`  ${'figure'.padEnd(64)} ${'today'.padStart(12)} ${'baseline'.padStart(12)}   ratio`);
  for (const figure of FIGURES[bench]) {
    const value = today[figure.name];
    const base = before[figure.name];
    const ratio = value !== undefined && base ? `${(value / base).toFixed(2)}× (${figure.better} is better)` : '';
    log(`  ${`${figure.name} (${figure.unit})`.padEnd(64)} ${format(value).padStart(12)} ${format(base).padStart(12)}   ${ratio}`);
  }
}
