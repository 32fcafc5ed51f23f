// Offline edits in one tab while another tab of the same app follows the doc (Chromium, one
// IndexedDB database on disk, two pages of one browser): tab A makes 2,000 doc.change() calls on
// an OT doc with nothing sent, each awaited with doc.flush(); tab B has the doc open and follows
// each write (the store's BroadcastChannel, then a read of what changed). Prints A's ms per
// change in each run of 500, as the queue grows, and how long after A's last edit B showed it.
// Then the same with an LWW doc, each edit adding a field (in 100 bucket objects): the follower
// reads the paths each write touched and applies those ops to its view.
// Run: npm run build && node bench/offlineTabs.js   (OFFLINE_TABS_EDITS=10000 for a longer session,
// OFFLINE_TABS_LWW_FIELDS=4000 for more LWW fields, 0 to skip them)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, requireChromium, servePage } from './browserPage.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EDITS = { total: Number(process.env.OFFLINE_TABS_EDITS ?? 2_000), every: 500 };
const LWW_FIELDS = { total: Number(process.env.OFFLINE_TABS_LWW_FIELDS ?? 2_000), every: 500 };

/** Runs inside each page: open the doc and note the highest value it shows. */
async function openInPage() {
  const { IndexedDBStore, Patches } = window.patchesRx;
  window.patches = new Patches({ store: new IndexedDBStore('offline-tabs') });
  window.doc = await window.patches.openDoc('notes');
  window.shown = 0;
  window.doc.subscribe(state => {
    for (const value of Object.values(state)) if (typeof value === 'number' && value > window.shown) window.shown = value;
  });
}

/** Runs inside each page: open the LWW doc and note the highest field value it shows. */
async function openLwwInPage() {
  window.lww = await window.patches.openDoc('offline-lww', { algorithm: 'lww' });
  window.shownLww = 0;
  window.lww.subscribe(state => {
    for (const bucket of Object.values(state)) {
      for (const value of Object.values(bucket ?? {})) if (typeof value === 'number' && value > window.shownLww) window.shownLww = value;
    }
  });
}

/** Runs inside tab A: the LWW edits, each adding a field to one of 100 buckets; ms per change in each run of `every`. */
async function editLwwInPage({ total, every }) {
  window.lww.change(draft => {
    for (let b = 0; b < 100; b++) draft[`b${b}`] = {};
  });
  await window.lww.flush();
  const runs = [];
  let start = performance.now();
  for (let i = 1; i <= total; i++) {
    window.lww.change(draft => {
      draft[`b${i % 100}`][`f${i}`] = i;
    });
    await window.lww.flush();
    if (i % every === 0) {
      runs.push((performance.now() - start) / every);
      start = performance.now();
    }
  }
  return runs;
}

/** Runs inside tab A: the edits, ms per change in each run of `every`. */
async function editInPage({ total, every }) {
  const runs = [];
  let start = performance.now();
  for (let i = 1; i <= total; i++) {
    window.doc.change(draft => {
      draft[`f${i % 20}`] = i;
    });
    await window.doc.flush();
    if (i % every === 0) {
      runs.push((performance.now() - start) / every);
      start = performance.now();
    }
  }
  return runs;
}

export async function main() {
  requireChromium();
  const page = await servePage({ stdin: { contents: "export * as patchesRx from './dist/index.js';", resolveDir: root, loader: 'js' }, globalName: 'bundle', footer: { js: 'window.patchesRx = bundle.patchesRx;' } });
  const profile = mkdtempSync(join(tmpdir(), 'patches-rx-offline-tabs-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  try {
    const a = context.pages()[0] ?? (await context.newPage());
    const b = await context.newPage();
    for (const tab of [a, b]) {
      await tab.goto(page.url);
      await tab.evaluate(openInPage);
    }
    const runs = await a.evaluate(editInPage, EDITS);
    const finished = Date.now();
    await b.waitForFunction(total => window.shown >= total, EDITS.total, { timeout: 120_000 });
    const behind = Date.now() - finished;
    console.log(`Offline edits in tab A while tab B follows the doc: ${EDITS.total.toLocaleString('en-US')} doc.change() + flush() on an OT doc; B showed the last one ${behind} ms after A made it`);
    console.table([perRun(runs, EDITS.every)]);
    if (LWW_FIELDS.total === 0) return { offlineTabs: { runs, behind } };

    for (const tab of [a, b]) await tab.evaluate(openLwwInPage);
    const lwwRuns = await a.evaluate(editLwwInPage, LWW_FIELDS);
    const lwwFinished = Date.now();
    await b.waitForFunction(total => window.shownLww >= total, LWW_FIELDS.total, { timeout: 120_000 });
    const lwwBehind = Date.now() - lwwFinished;
    console.log(`The same on an LWW doc, each edit adding a field (100 buckets): ${LWW_FIELDS.total.toLocaleString('en-US')} edits; B showed the last one ${lwwBehind} ms after A made it`);
    console.table([perRun(lwwRuns, LWW_FIELDS.every)]);
    return { offlineTabs: { runs, behind, lwwRuns, lwwBehind } };
  } finally {
    await context.close();
    await page.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A table row: ms per edit over each run of `every` edits. */
function perRun(runs, every) {
  return Object.fromEntries(runs.map((ms, i) => [`edits ${(i * every + 1).toLocaleString('en-US')}–${((i + 1) * every).toLocaleString('en-US')} (ms each)`, ms.toFixed(2)]));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
