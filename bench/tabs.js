// Several tabs of one app in real Chromium (headless Debian /usr/bin/chromium through
// playwright-core): three tabs of one browser context on one IndexedDB database, one of them
// leading the connection. Measures how long a tab takes to show an edit made in another tab (it
// travels through IndexedDB and the store's BroadcastChannel, not through the server), from the
// moment the editing tab calls change() to the moment the other tab's doc.state$ shows it, on a
// clock the tabs share (performance.timeOrigin + now()). The page is spec/e2e/page/tabs.ts on the
// built package. Run: npm run build && node bench/tabs.js
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browserPage.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EDITS = 30;
/** `TABS_PAD=10000`: the OT doc first gets that many records (~0.6 MB JSON at 10,000), to see how the figure grows with the document. */
const PAD = Number(process.env.TABS_PAD ?? 0);

/** Measures and prints the figures; returns them for bench/run.js. */
export async function main() {
  if (!existsSync(CHROMIUM_PATH)) {
    console.log(`tabs: skipped, ${CHROMIUM_PATH} is missing`);
    return { tabs: 'skipped: no Chromium' };
  }
  const { startServer, MemoryServerStore } = await import(pathToFileURL(join(root, 'dist', 'server', 'index.js')).href);
  const bundle = await build({
    entryPoints: [join(root, 'spec', 'e2e', 'page', 'tabs.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    alias: { 'patches-rx': join(root, 'dist', 'index.js') },
    logLevel: 'silent',
  });
  const files = {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(root, 'spec', 'e2e', 'page', 'index.html')) },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: Buffer.from(bundle.outputFiles[0].contents) },
  };
  const http = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://127.0.0.1').pathname];
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise(resolve => http.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${http.address().port}/`;
  const server = await startServer({ port: 0, store: new MemoryServerStore() });
  const profile = mkdtempSync(join(tmpdir(), 'patches-rx-bench-tabs-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });

  try {
    const tabs = [context.pages()[0] ?? (await context.newPage()), await context.newPage(), await context.newPage()];
    for (const page of tabs) await page.goto(pageUrl);
    for (const page of tabs) await page.evaluate(url => window.tabs.start(url), server.url);
    const leading = await Promise.all(tabs.map(page => page.evaluate(() => window.tabs.snapshot()).then(s => s.leading)));
    const leader = tabs[leading.indexOf(true)];
    const followers = tabs.filter(page => page !== leader);
    if (PAD > 0) {
      // A large document first: every tab waits until it holds it, committed.
      await leader.evaluate(records => window.tabs.pad(records), PAD);
      const rev = (await leader.evaluate(() => window.tabs.whenSettled(1, 0))).otRev;
      for (const page of tabs) await page.evaluate(r => window.tabs.whenSettled(r, 0), rev);
    }

    const measure = async (editor, viewer, label) => {
      const figures = [];
      for (let i = 0; i < EDITS; i++) {
        const token = `${label}-${i}`;
        const seen = viewer.evaluate(t => window.tabs.whenSeen(t), token);
        const made = await editor.evaluate(([t, at]) => window.tabs.edit(t, at), [token, i]);
        figures.push((await seen) - made);
      }
      figures.sort((a, b) => a - b);
      return { median: figures[Math.floor(figures.length / 2)], p90: figures[Math.floor(figures.length * 0.9)], max: figures[figures.length - 1] };
    };
    const rows = {
      'leader edits → a follower shows it': await measure(leader, followers[0], 'l'),
      'a follower edits → the leader shows it': await measure(followers[0], leader, 'f'),
      'a follower edits → another follower shows it': await measure(followers[0], followers[1], 'ff'),
    };
    console.log(`tabs: an edit in one tab shown by another (3 tabs, one IndexedDB database, ${EDITS} edits each${PAD ? `, OT doc padded with ${PAD} records` : ''}, ms)`);
    const table = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { median: v.median.toFixed(1), p90: v.p90.toFixed(1), max: v.max.toFixed(1) }]));
    console.table(table);
    return { tabs: table };
  } finally {
    await context.close();
    await server.close();
    http.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
