import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, servePage } from './browserPage.js';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const total = Number(process.argv[2] ?? 2000);
async function openIn() {
  const { IndexedDBStore, Patches } = window.patchesRx;
  window.store = new IndexedDBStore('tabsoff');
  window.patches = new Patches({ store: window.store });
  window.doc = await window.patches.openDoc('notes');
  window.seen = 0;
  window.doc.subscribe(s => { window.seen = Object.keys(s).length ? Math.max(window.seen, ...Object.values(s)) : 0; });
}
async function editIn(total) {
  const marks = {};
  let t = performance.now();
  for (let i = 1; i <= total; i++) {
    window.doc.change(d => { d[`f${i % 20}`] = i; });
    await window.doc.flush();
    if (i % 500 === 0) { marks[i] = ((performance.now() - t) / 500).toFixed(2); t = performance.now(); }
  }
  return marks;
}
const page = await servePage({ stdin: { contents: "export * as patchesRx from './dist/index.js';", resolveDir: root, loader: 'js' }, globalName: 'bundle', footer: { js: 'window.patchesRx = bundle.patchesRx;' } });
const profile = mkdtempSync(join(tmpdir(), 'pr-tabs-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
try {
  const a = context.pages()[0] ?? (await context.newPage());
  const b = await context.newPage();
  await a.goto(page.url); await b.goto(page.url);
  await a.evaluate(openIn); await b.evaluate(openIn);
  console.log('tab A ms per offline change with tab B following:', await a.evaluate(editIn, total));
  const t0 = Date.now();
  await b.waitForFunction(n => window.seen >= n, total, { timeout: 120000 });
  console.log('tab B caught up', Date.now() - t0, 'ms after A finished');
} finally { await context.close(); await page.close(); rmSync(profile, { recursive: true, force: true }); }
