import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { MemoryServerStore, startServer } from '../../../src/server/index.js';
import type { Change } from '../../../src/types.js';
import { connectClient } from '../../helpers/wsClient.js';
import type { BrowserSession } from './browser.js';
import { startPageServer, type PageServer } from './pageServer.js';

/** A proxy between the tabs and the server. */
export interface TabsProxy {
  /** `ws://127.0.0.1:<port>`: what the tabs connect to. */
  url: string;
  close(): Promise<void>;
}

/**
 * The several-tabs page (`spec/e2e/page/tabs.ts`) for the tests of one `describe`: the page is
 * bundled and served once; `openTabs` gives a test a server behind a proxy, a browser on a fresh
 * profile with `count` tabs on the page (not started: `startTab`), and a client of the server
 * subscribed to both docs (`history`: the OT doc's log). Everything a test opened is closed after it.
 *
 * @param launch How the browser is started (`launchBrowser`, `launchTabbedBrowser`).
 */
export function useTabsPage(launch: (profileDir: string, url: string) => Promise<BrowserSession>) {
  let pageServer: PageServer;
  let cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    pageServer = await startPageServer(join(__dirname, '..', 'page', 'tabs.ts'));
  });
  afterAll(async () => {
    await pageServer?.close();
  });
  beforeEach(() => {
    cleanups = [];
  });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function openTabs<P extends TabsProxy>(count: number, startProxy: (port: number) => Promise<P>) {
    const serverFaults: unknown[] = [];
    const server = await startServer({ port: 0, store: new MemoryServerStore(), onError: error => serverFaults.push(error) });
    cleanups.push(() => server.close());
    const proxy = await startProxy(server.port);
    cleanups.push(() => proxy.close());
    const profileDir = mkdtempSync(join(tmpdir(), 'patches-rx-e2e-tabs-'));
    cleanups.push(() => rmSync(profileDir, { recursive: true, force: true }));

    const session = await launch(profileDir, pageServer.url);
    cleanups.push(() => session.close());
    const startTab = (page: Page) => page.evaluate(url => window.tabs.start(url), proxy.url);
    const tabs: Page[] = [session.page];
    for (let i = 1; i < count; i++) {
      const page = await session.context.newPage();
      page.on('pageerror', error => session.pageErrors.push(`pageerror: ${error.message}`));
      await page.goto(pageServer.url);
      tabs.push(page);
    }
    const reader = await connectClient(server.url);
    cleanups.push(() => reader.close());
    await reader.call('subscribe', [['ot', 'lww-doc']]);
    const history = async (): Promise<Change[]> => (await reader.call('getChangesSince', ['ot', 0])).result as Change[];
    return { server, serverFaults, proxy, session, startTab, tabs, reader, history };
  }

  return {
    openTabs,
    /** The page's address (`/away` is another page of the site). */
    pageUrl: () => pageServer.url,
  };
}
