/**
 * Tabs the browser freezes or keeps in the back/forward cache, end to end in Chromium: the
 * several-tabs page (`spec/e2e/page/tabs.ts`, the README's setup on the built package) in tabs of
 * one window (`launchTabbedBrowser`), a tab frozen and resumed as Chromium does to background tabs
 * (DevTools' `Page.setWebLifecycleState`: the page gets `freeze` and `resume`, and runs no timer
 * in between), or navigated away and back. What users are promised (README, Several tabs): a
 * leading tab that is away lets the lead go, the next tab leads and syncs every tab's edits (they
 * are in the shared IndexedDB), and the tab that comes back catches up; every edit is committed
 * exactly once (the server's log, read by a client of its own), over one socket at a time.
 */
import type { Page } from 'playwright-core';
import { describeWithChromium, launchTabbedBrowser } from './helpers/browser.js';
import { startCountingProxy } from './helpers/countingProxy.js';
import { startReplyHoldingProxy } from './helpers/replyHoldingProxy.js';
import { useTabsPage, type TabsProxy } from './helpers/tabsHarness.js';
import { committedTokens } from './helpers/tabsLog.js';

jest.setTimeout(30_000);

const edit = (page: Page, token: string) => page.evaluate(t => window.tabs.edit(t, 0), token);
const lifecycleOf = (page: Page) => page.evaluate(() => window.tabs.lifecycle());

describeWithChromium()('tabs frozen or in the back/forward cache, in Chromium', () => {
  const { openTabs: open, pageUrl } = useTabsPage(launchTabbedBrowser);

  /**
   * A server behind a proxy, and `count` tabs of one browser window on the page; `started` of them
   * started, the first one leading (it starts alone).
   */
  async function openTabs<P extends TabsProxy>(count: number, startProxy: (port: number) => Promise<P>, started = count) {
    const opened = await open(count, startProxy);
    const { session, tabs, startTab } = opened;
    for (const [i, page] of tabs.slice(0, started).entries()) {
      await startTab(page);
      if (i === 0) await page.evaluate(() => window.tabs.whenLeading());
    }
    /** Freezes or thaws a tab as the browser does (DevTools' `Page.setWebLifecycleState`). */
    const setLifecycle = async (page: Page, state: 'frozen' | 'active') => {
      const cdp = await session.context.newCDPSession(page);
      await cdp.send('Page.setWebLifecycleState', { state });
      await cdp.detach();
    };
    return { ...opened, setLifecycle };
  }

  it('should let another tab lead while the leading tab is frozen, commit its edits meanwhile, and catch the frozen tab up once it resumes', async () => {
    const { serverFaults, proxy, session, tabs, history, setLifecycle } = await openTabs(2, startCountingProxy);
    const [a, b] = tabs;
    await edit(a, 'a1');
    await a.evaluate(() => window.tabs.whenSettled(1, 1));

    await setLifecycle(a, 'frozen');
    expect(await lifecycleOf(a)).toEqual(['pageshow', 'freeze']);
    await b.evaluate(() => window.tabs.whenLeading());
    // Each is written to the shared database and sent by b. Chromium runs the frozen tab's
    // BroadcastChannel handlers: until `storeChanges$` held what they hear, a's store read on b1's
    // write held the database, and b2 was not stored while a stayed frozen.
    for (const token of ['b1', 'b2', 'b3']) await edit(b, token);
    const atB = await b.evaluate(() => window.tabs.whenSettled(4, 1));
    expect(committedTokens(await history())).toEqual(['a1', 'b1', 'b2', 'b3']);
    expect(atB).toMatchObject({ leading: true, connected: true });
    expect(await lifecycleOf(a)).toEqual(['pageshow', 'freeze']);

    await setLifecycle(a, 'active');
    expect(await lifecycleOf(a)).toEqual(['pageshow', 'freeze', 'resume']);
    const atA = await a.evaluate(() => window.tabs.whenSettled(4, 1));
    expect(atA).toMatchObject({ ot: atB.ot, lww: atB.lww, leading: false, connected: true });
    await edit(a, 'a2');
    const final = await Promise.all(tabs.map(page => page.evaluate(() => window.tabs.whenSettled(5, 1))));
    const log = await history();
    expect(committedTokens(log)).toEqual(['a1', 'a2', 'b1', 'b2', 'b3']);
    expect(new Set(log.map(change => change.id)).size).toBe(log.length);
    expect(final[0]).toEqual({ ...final[1], leading: false });
    expect(final[1]).toMatchObject({ otRev: 5, leading: true, storedPending: 0, errors: [] });
    expect(Object.keys(final[1].lww.marks ?? {}).sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'b3']);
    // The frozen tab closed its socket before it let the lock go.
    expect(proxy.max()).toBe(1);
    expect(proxy.total()).toBe(2);
    expect(serverFaults).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  });

  it('should send the edits a tab stored while the server was out of reach through the tab that leads once it is frozen, exactly once, also after it resumes and leads again', async () => {
    const { serverFaults, proxy, session, tabs, history, setLifecycle } = await openTabs(2, startCountingProxy);
    const [a, b] = tabs;
    await edit(a, 'a1');
    await a.evaluate(() => window.tabs.whenSettled(1, 1));
    proxy.reachable(false);
    await a.evaluate(() => window.tabs.whenConnected(false));
    await edit(a, 'a2');
    await edit(a, 'a3');
    expect((await a.evaluate(() => window.tabs.snapshot())).storedPending).toBeGreaterThan(0);

    await setLifecycle(a, 'frozen');
    expect(await lifecycleOf(a)).toEqual(['pageshow', 'freeze']);
    proxy.reachable(true);
    await b.evaluate(() => window.tabs.whenLeading());
    const atB = await b.evaluate(() => window.tabs.whenSettled(3, 1));
    expect(committedTokens(await history())).toEqual(['a1', 'a2', 'a3']);
    expect(await lifecycleOf(a)).toEqual(['pageshow', 'freeze']);

    await setLifecycle(a, 'active');
    const atA = await a.evaluate(() => window.tabs.whenSettled(3, 1));
    expect(atA).toMatchObject({ ot: atB.ot, lww: atB.lww, leading: false, storedPending: 0 });
    // Leading again, it has nothing of them left to send.
    await b.evaluate(() => window.tabs.setSync(false));
    await a.evaluate(() => window.tabs.whenLeading());
    await edit(a, 'a4');
    const final = await Promise.all(tabs.map(page => page.evaluate(() => window.tabs.whenSettled(4, 1))));
    const log = await history();
    expect(committedTokens(log)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(new Set(log.map(change => change.id)).size).toBe(log.length);
    expect(final[0]).toMatchObject({ otRev: 4, ot: final[1].ot, lww: final[1].lww, leading: true, connected: true, errors: [] });
    expect(final[1]).toMatchObject({ otRev: 4, leading: false, errors: [] });
    expect(proxy.max()).toBe(1);
    expect(serverFaults).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  });

  it('should commit once an edit the leading tab sent and heard no answer for before it was frozen, when the next leader sends it again', async () => {
    const { server, serverFaults, proxy, session, tabs, reader, history, setLifecycle } = await openTabs(2, startReplyHoldingProxy);
    const [a, b] = tabs;
    await edit(a, 'a1');
    await a.evaluate(() => window.tabs.whenSettled(1, 1));
    proxy.holdReplies = true;
    const committed = reader.next(frame => (frame as { method?: string }).method === 'changesCommitted' && JSON.stringify(frame).includes('"a2"'));
    await edit(a, 'a2');
    await committed; // on the server; a heard nothing of it
    expect((await a.evaluate(() => window.tabs.snapshot())).hasPending).toBe(true);

    // Its socket closes with the reply held; b's, opened next, is not held.
    await setLifecycle(a, 'frozen');
    await b.evaluate(() => window.tabs.whenLeading());
    const atB = await b.evaluate(() => window.tabs.whenSettled(2, 1));
    expect(server.stats.duplicateChanges).toBeGreaterThan(0);
    await setLifecycle(a, 'active');
    const atA = await a.evaluate(() => window.tabs.whenSettled(2, 1));
    const log = await history();
    expect(committedTokens(log)).toEqual(['a1', 'a2']);
    expect(log.map(change => change.rev)).toEqual([1, 2]);
    expect(proxy.heldBytes).toBeGreaterThan(0);
    expect(atA).toMatchObject({ ot: atB.ot, lww: atB.lww, otRev: 2, leading: false, errors: [] });
    expect(atB).toMatchObject({ otRev: 2, leading: true, errors: [] });
    expect(serverFaults).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  });

  it('should hand the lead to another tab while the leading page is in the back/forward cache; going back loads it anew (a message evicted it), and it follows', async () => {
    const { serverFaults, proxy, session, tabs, startTab, history } = await openTabs(2, startCountingProxy);
    const [a, b] = tabs;
    await edit(a, 'a1');
    await a.evaluate(() => window.tabs.whenSettled(1, 1));
    await a.goto(`${pageUrl()}away`);
    await b.evaluate(() => window.tabs.whenLeading());
    await edit(b, 'b1');
    const atB = await b.evaluate(() => window.tabs.whenSettled(2, 1));

    await a.goBack();
    // Kept in the cache, then evicted as b announced to it (README, Several tabs): loaded anew.
    const reasons = await a.evaluate(() => {
      const [navigation] = performance.getEntriesByType('navigation') as Array<PerformanceNavigationTiming & { notRestoredReasons?: { reasons?: Array<{ reason: string }> } }>;
      return navigation.notRestoredReasons?.reasons?.map(r => r.reason);
    });
    expect(reasons).toContain('broadcastchannel-message');
    expect(await lifecycleOf(a)).toEqual(['pageshow']);
    await startTab(a);
    const atA = await a.evaluate(() => window.tabs.whenSettled(2, 1));
    expect(atA).toMatchObject({ ot: atB.ot, lww: atB.lww, leading: false, connected: true });
    await edit(a, 'a2');
    const final = await Promise.all(tabs.map(page => page.evaluate(() => window.tabs.whenSettled(3, 1))));
    const log = await history();
    expect(committedTokens(log)).toEqual(['a1', 'a2', 'b1']);
    expect(new Set(log.map(change => change.id)).size).toBe(log.length);
    expect(final[0]).toEqual({ ...final[1], leading: false });
    expect(proxy.max()).toBe(1);
    expect(proxy.total()).toBe(2);
    expect(serverFaults).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  });

  it('should let the lock go while the leading page is in the back/forward cache, and lead again once restored', async () => {
    // The second tab is on the site but runs no sync: it posts nothing, so the cached page stays cached.
    const { serverFaults, proxy, session, tabs, history } = await openTabs(2, startCountingProxy, 1);
    const [a, other] = tabs;
    await edit(a, 'a1');
    await a.evaluate(() => window.tabs.whenSettled(1, 1));
    const [lock] = (await other.evaluate(() => navigator.locks.query())).held ?? [];
    expect(lock?.name).toMatch(/^patches-rx:leader:/);

    await a.goto(`${pageUrl()}away`);
    // Granted once the cached page let it go (and let go of at once).
    await other.evaluate(name => navigator.locks.request(name, () => undefined), lock.name!);
    // No load event on a page restored from the cache.
    await a.goBack({ waitUntil: 'commit' });
    await a.evaluate(() => window.tabs.whenLeading());
    expect(await lifecycleOf(a)).toEqual(expect.arrayContaining(['pagehide persisted', 'pageshow persisted']));
    await edit(a, 'a2');
    const final = await a.evaluate(() => window.tabs.whenSettled(2, 1));
    const log = await history();
    expect(committedTokens(log)).toEqual(['a1', 'a2']);
    expect(final).toMatchObject({ otRev: 2, leading: true, connected: true, errors: [] });
    expect(proxy.max()).toBe(1);
    expect(proxy.total()).toBe(2);
    expect(serverFaults).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  });
});
