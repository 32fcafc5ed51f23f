/**
 * The demo's service worker (`examples/board/sw.js`) in real headless Chromium, in front of a
 * loopback server the spec controls: it serves the page's newest version while the server answers,
 * the cached one when the server takes the request and never answers (hung, SIGSTOPped), and keeps
 * what a late answer brings for the next load.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, describeWithChromium } from '../../e2e/helpers/browser.js';

jest.setTimeout(60_000);

const SW = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'board', 'sw.js'));
const PAGE = '<!doctype html><html><body><script type="module" src="/app.js"></script></body></html>';
/** The page's script: shows its version and registers the worker. */
const script = (version: number): string => `document.body.dataset.version = '${version}'; navigator.serviceWorker.register('/sw.js');`;
/** Generous: the page waits out the worker's network timeout once per request (the page, its script). */
const WAIT_MS = 20_000;

describeWithChromium()('the demo service worker', () => {
  let browser: Browser;
  let server: Server;
  let url: string;
  let version: number;
  /** Requests taken and not answered while the server plays hung. */
  let held: Array<{ path: string; response: ServerResponse }>;
  let hung: boolean;

  const answer = (path: string, response: ServerResponse): void => {
    const file = path === '/' ? PAGE : path === '/app.js' ? script(version) : path === '/sw.js' ? SW : undefined;
    if (file === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': path === '/' ? 'text/html' : 'text/javascript', 'cache-control': 'no-cache' }).end(file);
  };

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      if (hung) held.push({ path, response });
      else answer(path, response);
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  });
  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise(resolve => server?.close(resolve));
  });

  const shows = (page: Page, version: number): Promise<unknown> =>
    page.waitForFunction(version => document.body?.dataset.version === String(version), version, { timeout: WAIT_MS });

  it('should load the newest page while the server answers, the cached one while it hangs, and keep a late answer', async () => {
    version = 1;
    held = [];
    hung = false;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: WAIT_MS });
      await shows(page, 1);

      // Network first: a new version reaches the page on the next load.
      version = 2;
      await page.reload();
      await shows(page, 2);

      // The server takes every request and answers none: the page loads from the cache all the same.
      hung = true;
      const reloading = page.reload().catch(() => undefined);
      await shows(page, 2);
      await reloading;
      expect(held.map(request => request.path)).toEqual(expect.arrayContaining(['/', '/app.js']));

      // The server wakes up: the answers it owed replace the cached copies.
      hung = false;
      version = 3;
      for (const { path, response } of held.splice(0)) answer(path, response);
      await page.waitForFunction(async () => (await (await caches.match('/app.js'))?.text())?.includes("'3'"), undefined, { timeout: WAIT_MS });
      hung = true;
      void page.reload().catch(() => undefined);
      await shows(page, 3);
    } finally {
      hung = false;
      for (const { path, response } of held.splice(0)) answer(path, response);
      await context.close();
    }
  });
});
