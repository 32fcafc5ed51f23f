// Paced sync in real Chromium (headless Debian /usr/bin/chromium through playwright-core): what
// bench/sync.js's paced figure becomes with IndexedDBStore, where every store call is an
// IndexedDB transaction. Two users, each a browser of its own on a disk-backed temp profile (so
// two IndexedDB databases), run Patches + a store + PatchesSync (bench/browserSyncPage.js on the
// built package, bundled by esbuild, served from 127.0.0.1) against the reference server
// (MemoryServerStore) in this process. Both open one doc, then each makes N paced changes at the
// same time (bench/pairEdit.js's edits, each after the previous one is committed, like typing).
// Measured, for IndexedDBStore and for InMemoryStore in the same pages, on an OT and an LWW doc:
//  - ms from the first edit until both pages hold the server's head with nothing pending, on a
//    clock both browsers share (performance.timeOrigin + now()), and that divided by N;
//  - IndexedDB transactions per change, readonly / readwrite, both pages together (a change
//    costs some in the page that makes it and some in the page that receives it), counted by
//    wrapping IDBDatabase.prototype.transaction before the app's code runs; the summed lifetime
//    of those transactions (creation to complete) per change and page; and the store calls they
//    are (the stores' methods wrapped in the page), printed below the table;
//  - BroadcastChannel posts per change, both pages together, and the ms the page spends in those
//    postMessage calls per change and page: the store's announcements, and the tabs' channel
//    (SyncTabs: the leader's state), counted and timed by wrapping postMessage the same way;
//  - the renderer main thread's busy time per change and page (CDP Performance TaskDuration):
//    what the page's own work costs, the rest being waits on IndexedDB, the socket and the server.
// Median of BROWSER_SYNC_RUNS runs (default 3), N = BROWSER_SYNC_CHANGES (default 300); every
// wait is bounded, and any error a page reports fails the bench. BROWSER_SYNC_CPUPROF=<dir>
// writes each page's CPU profile of each run there (the profiler slows the pages down);
// BROWSER_SYNC_OFF_THE_RECORD=1 runs the users off the record (IndexedDB kept in memory).
// Run: npm run build && node bench/browserSync.js
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, requireChromium, servePage } from './browserPage.js';
import { rpcClient } from './rpcClient.js';
import { median } from './waits.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHANGES = Number(process.env.BROWSER_SYNC_CHANGES ?? 300);
const RUNS = Number(process.env.BROWSER_SYNC_RUNS ?? 3);
// A directory to write each page's CPU profile of each run to (open in Chrome DevTools).
const PROFILE_DIR = process.env.BROWSER_SYNC_CPUPROF;
// Off-the-record contexts, where Chromium keeps IndexedDB in memory: what the disk adds.
const IN_MEMORY = process.env.BROWSER_SYNC_OFF_THE_RECORD === '1';
// Prints the first user's trace of a few paced changes in the middle of each run: where a change's time goes.
const TRACE = process.env.BROWSER_SYNC_TRACE === '1';
const LIMIT_MS = 60_000;
const STORES = ['IndexedDBStore', 'InMemoryStore'];
const ALGORITHMS = ['ot', 'lww'];

/**
 * Counts the page's IndexedDB transactions by mode and sums their lifetimes, and its
 * BroadcastChannel posts (the store's announcements apart from the tabs' `sync:` channel);
 * installed before any of the page's code runs (serialized by playwright, so it uses nothing
 * from this module).
 */
function countTransactions() {
  const counts = { readonly: 0, readwrite: 0, ms: 0, storePosts: 0, tabsPosts: 0, storePostMs: 0, tabsPostMs: 0 };
  const postMessage = BroadcastChannel.prototype.postMessage;
  BroadcastChannel.prototype.postMessage = function (...args) {
    const which = this.name.startsWith('patches-rx:store:sync:') ? 'tabs' : 'store';
    counts[`${which}Posts`]++;
    const began = performance.now();
    try {
      return postMessage.apply(this, args);
    } finally {
      counts[`${which}PostMs`] += performance.now() - began;
    }
  };
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (...args) {
    counts[args[1] === 'readwrite' ? 'readwrite' : 'readonly']++;
    const tx = transaction.apply(this, args);
    const began = performance.now();
    const ended = () => (counts.ms += performance.now() - began);
    tx.addEventListener('complete', ended);
    tx.addEventListener('abort', ended);
    return tx;
  };
  window.idbCounts = counts;
}

/**
 * With BROWSER_SYNC_TRACE: a trace of the page's socket frames (sent and received, with their
 * size) beside its store calls and edits (bench/browserSyncPage.js), each with its time.
 */
function traceSocket() {
  const trace = (window.benchTrace = []);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    trace.push([performance.now(), `send ${data.length ?? data.byteLength} B`]);
    return send.call(this, data);
  };
  const Socket = WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Socket(...args);
    socket.addEventListener('message', event => trace.push([performance.now(), `received ${event.data.length ?? event.data.byteLength} B`]));
    return socket;
  };
  Object.assign(window.WebSocket, Socket);
  window.WebSocket.prototype = Socket.prototype;
}

/** Serves the page: its script exposes `window.benchSync` (bench/browserSyncPage.js). */
function startPageServer() {
  return servePage({ entryPoints: [join(root, 'bench', 'browserSyncPage.js')] });
}

/** Rejects if `promise` has not settled within LIMIT_MS, naming `what`. */
function bounded(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`bench: timed out waiting for ${what}`)), LIMIT_MS)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** One user: a browser of its own on a temp profile (or off the record), with one page. */
async function openUser(name) {
  const options = { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true };
  const profile = IN_MEMORY ? undefined : mkdtempSync(join(tmpdir(), `patches-rx-bench-sync-${name}-`));
  const browser = IN_MEMORY ? await chromium.launch(options) : undefined;
  const context = browser ? await browser.newContext() : await chromium.launchPersistentContext(profile, options);
  await context.addInitScript(countTransactions);
  if (TRACE) await context.addInitScript(traceSocket);
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(LIMIT_MS);
  return {
    name,
    page,
    async close() {
      await context.close();
      await browser?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The renderer main thread's busy time so far, in ms (CDP Performance metrics). */
async function busyMs(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return 1000 * metrics.find(metric => metric.name === 'TaskDuration').value;
}

/** The head rev of a doc on the server. */
async function headRev(writer, docId) {
  const envelope = await writer.call('getDoc', [docId]);
  return envelope.changes.reduce((rev, change) => Math.max(rev, change.rev), envelope.rev);
}

/** Both users open one doc and make CHANGES paced edits each at the same time. */
async function pairRun(env, users, store, algorithm, run) {
  const docId = `${algorithm}-${store}-${run}`;
  const pages = users.map(user => user.page);
  for (const page of pages) await page.goto(env.pageUrl);
  const cdps = await Promise.all(pages.map(page => page.context().newCDPSession(page)));
  try {
    for (const cdp of cdps) await cdp.send('Performance.enable');
    if (PROFILE_DIR) for (const cdp of cdps) await Promise.all([cdp.send('Profiler.enable'), cdp.send('Profiler.setSamplingInterval', { interval: 200 })]);
    for (const [i, page] of pages.entries()) {
      const options = { url: env.serverUrl, store, dbName: `${docId}-${users[i].name}`, docId, algorithm, create: i === 0 };
      await bounded(
        page.evaluate(o => window.benchSync.start(o), options),
        `${users[i].name} to open ${docId}`,
      );
    }
    for (const page of pages) await page.evaluate(() => window.benchSync.resetCounts());
    const busyBefore = await Promise.all(cdps.map(busyMs));
    if (PROFILE_DIR) for (const cdp of cdps) await cdp.send('Profiler.start');

    const made = await bounded(
      Promise.all(pages.map((page, i) => page.evaluate(o => window.benchSync.edits(o), { who: users[i].name, count: CHANGES, algorithm }))),
      `${CHANGES} paced edits on ${docId}`,
    );
    // Nothing left to send on either side, so the head is final; then both must reach it.
    const head = await headRev(env.writer, docId);
    const reachedAt = await bounded(Promise.all(pages.map(page => page.evaluate(h => window.benchSync.reached(h), head))), `both pages at rev ${head}`);
    const busy = (await Promise.all(cdps.map(busyMs))).map((after, i) => after - busyBefore[i]);
    if (PROFILE_DIR) {
      mkdirSync(PROFILE_DIR, { recursive: true });
      for (const [i, cdp] of cdps.entries()) writeFileSync(join(PROFILE_DIR, `${docId}-${users[i].name}.cpuprofile`), JSON.stringify((await cdp.send('Profiler.stop')).profile));
    }
    if (TRACE) printTrace(`${store} ${algorithm}`, await pages[0].evaluate(() => window.benchTrace));
    const counts = await Promise.all(pages.map(page => page.evaluate(() => window.benchSync.counts())));
    const ends = await Promise.all(pages.map(page => page.evaluate(() => window.benchSync.finish())));

    const errors = ends.flatMap((end, i) => end.errors.map(error => `${users[i].name}: ${error}`));
    if (errors.length > 0) throw new Error(`bench: a page reported ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`);
    if (!isDeepStrictEqual(ends[0].state, ends[1].state)) throw new Error(`bench: the ${algorithm} pages did not converge on ${docId}`);
    if (algorithm === 'ot' && (head !== 2 * CHANGES + 1 || ends[0].state.items.length !== CHANGES)) {
      throw new Error(`bench: expected every OT change committed once (head ${head})`);
    }
    const unpaced = made.reduce((sum, m) => sum + m.unpaced, 0);
    if (unpaced > 0) throw new Error(`bench: ${unpaced} waits on ${docId} found the committed rev not advanced (not paced)`);

    const ms = Math.max(...reachedAt) - Math.min(...made.map(m => m.start));
    const sum = key => counts.reduce((total, c) => total + c[key], 0);
    const storeCalls = {};
    for (const c of counts) for (const [method, calls] of Object.entries(c.storeCalls)) storeCalls[method] = (storeCalls[method] ?? 0) + calls / (2 * CHANGES);
    return {
      ms,
      msPerChange: ms / CHANGES,
      readonly: sum('readonly') / (2 * CHANGES),
      readwrite: sum('readwrite') / (2 * CHANGES),
      idbMsPerChange: sum('ms') / (2 * CHANGES),
      storePosts: sum('storePosts') / (2 * CHANGES),
      tabsPosts: sum('tabsPosts') / (2 * CHANGES),
      storePostMs: sum('storePostMs') / (2 * CHANGES),
      tabsPostMs: sum('tabsPostMs') / (2 * CHANGES),
      busyMsPerChange: (busy[0] + busy[1]) / (2 * CHANGES),
      storeCalls,
      head,
    };
  } finally {
    for (const cdp of cdps) await cdp.detach().catch(() => {});
  }
}

/** Prints three paced changes from the middle of a page's trace, each event at ms since its edit. */
function printTrace(title, events) {
  const edits = events.flatMap(([at, what], i) => (what.startsWith('edit ') ? [i] : []));
  const middle = Math.floor(edits.length / 2);
  console.log(`Trace of ${title}, user a (ms since the edit):`);
  for (const k of [middle, middle + 1, middle + 2]) {
    const [from, to] = [edits[k], edits[k + 1] ?? events.length];
    const start = events[from][0];
    console.log(events.slice(from, to).map(([at, what]) => `  ${(at - start).toFixed(1).padStart(6)} ${what}`).join('\n'));
  }
  // Each store call's duration ('m >' to its 'm <'; calls of one method may overlap, so each end closes the oldest open call).
  const open = new Map();
  const durations = new Map();
  for (const [at, what] of events) {
    const [method, mark] = what.split(' ');
    if (mark === '>') open.set(method, [...(open.get(method) ?? []), at]);
    if (mark === '<' && open.get(method)?.length) durations.set(method, [...(durations.get(method) ?? []), at - open.get(method).shift()]);
  }
  console.log(`  median ms per store call: ${[...durations].map(([method, list]) => `${method} ${median(list).toFixed(2)} (${list.length})`).join(', ')}`);
}

/** Measures and prints the figures; returns them for bench/run.js. */
export async function main() {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  requireChromium();
  const { startServer, MemoryServerStore } = await import(pathToFileURL(join(root, 'dist', 'server', 'index.js')).href);
  const pageServer = await startPageServer();
  const serverErrors = [];
  const server = await startServer({ port: 0, host: '127.0.0.1', store: new MemoryServerStore(), onError: error => serverErrors.push(error) });
  const users = [];
  let writer;
  try {
    writer = await rpcClient(server.url);
    users.push(await openUser('a'), await openUser('b'));
    const cdp = await users[0].page.context().newCDPSession(users[0].page);
    const version = (await cdp.send('Browser.getVersion')).product;
    await cdp.detach();
    const env = { pageUrl: pageServer.url, serverUrl: server.url, writer };
    const runs = Object.fromEntries(STORES.flatMap(store => ALGORITHMS.map(algorithm => [`${store} ${algorithm}`, []])));
    // Alternated, so load on the machine falls on every row alike.
    for (let run = 0; run < RUNS; run++) {
      for (const store of STORES) {
        for (const algorithm of ALGORITHMS) runs[`${store} ${algorithm}`].push(await pairRun(env, users, store, algorithm, run));
      }
    }
    if (serverErrors.length > 0) throw new Error(`bench: the server reported ${serverErrors[0]}`);

    const n = (value, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const figures = {};
    const rows = Object.entries(runs).map(([key, list]) => {
      const [store, algorithm] = key.split(' ');
      const m = field => median(list.map(r => r[field]));
      figures[key] = { convergeMs: m('ms'), msPerChange: m('msPerChange'), readonly: m('readonly'), readwrite: m('readwrite'), idbMsPerChange: m('idbMsPerChange'), storePosts: m('storePosts'), tabsPosts: m('tabsPosts'), storePostMs: m('storePostMs'), tabsPostMs: m('tabsPostMs'), busyMsPerChange: m('busyMsPerChange') };
      const f = figures[key];
      return {
        store,
        algorithm,
        'ms until both converge': n(f.convergeMs),
        'ms per paced change': n(f.msPerChange, 2),
        'IDB transactions per change (readonly/readwrite)': store === 'IndexedDBStore' ? `${n(f.readonly, 1)} / ${n(f.readwrite, 1)}` : '—',
        'IDB transaction ms per change and page': store === 'IndexedDBStore' ? n(f.idbMsPerChange, 2) : '—',
        'BroadcastChannel posts per change (store / tabs)': `${n(f.storePosts, 1)} / ${n(f.tabsPosts, 1)}`,
        'postMessage ms per change and page (store / tabs)': `${n(f.storePostMs, 2)} / ${n(f.tabsPostMs, 2)}`,
        'main thread busy ms per change and page': n(f.busyMsPerChange, 2),
      };
    });
    console.log(
      `Paced sync in ${version}: 2 users (2 browsers, 2 IndexedDB databases ${IN_MEMORY ? 'in memory, off the record' : 'on disk'}) × ${CHANGES} changes on one doc, reference server (memory) in this process, loopback; median of ${RUNS} runs`,
    );
    console.table(rows);
    console.log('Store calls per change, both pages together (last run):');
    for (const [key, list] of Object.entries(runs)) {
      const calls = Object.entries(list[list.length - 1].storeCalls).sort((x, y) => y[1] - x[1]);
      console.log(`  ${key}: ${calls.map(([method, perChange]) => `${method} ${n(perChange, 1)}`).join(', ')}`);
    }
    return { browserSync: rows, figures, changes: CHANGES, runs: RUNS };
  } finally {
    for (const user of users) await user.close();
    writer?.close();
    await server.close();
    await pageServer.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
