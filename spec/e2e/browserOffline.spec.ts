/**
 * Issue 6, end to end in a real browser: headless Chromium runs the built package (IndexedDBStore
 * + Patches + PatchesSync) against the reference server on 127.0.0.1. Offline edits must survive
 * closing the browser, and reach the server and another client exactly once after a restart on
 * the same profile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Patches } from '../../src/client/Patches.js';
import { PatchesSync } from '../../src/net/PatchesSync.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { MemoryServerStore, startServer, type LWWLogEntry, type RunningServer } from '../../src/server/index.js';
import type { Change } from '../../src/types.js';
import { docSynced, when } from '../helpers/syncHarness.js';
import { connectClient, type WsTestClient } from '../helpers/wsClient.js';
import { describeWithChromium, launchBrowser, type BrowserSession } from './helpers/browser.js';
import { startPageServer, type PageServer } from './helpers/pageServer.js';
import { startReplyHoldingProxy, type ReplyHoldingProxy } from './helpers/replyHoldingProxy.js';
import type { NotesDoc, PageSnapshot, StartOptions } from './page/app.js';

jest.setTimeout(60_000);

/** The page at the end of the restart test, overwritten on every run so it can be looked at. */
const SCREENSHOT = join(tmpdir(), 'patches-rx-e2e', 'browser-offline-restart.png');

let pageServer: PageServer;
let server: RunningServer;
/** The server's storage, read directly where the wire has no history (LWW keeps rows, not changes). */
let serverStore: MemoryServerStore;
let serverFaults: unknown[];
let profileDir: string;
/** Everything a test opened, closed in reverse order after it. */
let cleanups: Array<() => Promise<void> | void>;

/** Launches Chromium on this test's profile and opens the page; closed after the test if still open. */
async function openBrowser(): Promise<BrowserSession> {
  const session = await launchBrowser(profileDir, pageServer.url);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await session.close();
  };
  cleanups.push(close);
  return { ...session, close };
}

function start(session: BrowserSession, options: StartOptions): Promise<PageSnapshot> {
  return session.page.evaluate(options => window.app.start(options), options);
}

/** A raw JSON-RPC reader on the server: its answers are the oracle, independent of the client code. */
async function reader(): Promise<WsTestClient> {
  const client = await connectClient(server.url);
  cleanups.push(() => client.close());
  return client;
}

/** Every committed change the server holds for a doc (`getChangesSince(docId, 0)`). */
async function serverHistory(client: WsTestClient, docId: string): Promise<Change[]> {
  const reply = await client.call('getChangesSince', [docId, 0]);
  if ('error' in reply) throw new Error(`getChangesSince failed: ${JSON.stringify(reply.error)}`);
  return reply.result as Change[];
}

/** How often each id occurs. */
function countIds(changes: Change[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const change of changes) counts.set(change.id, (counts.get(change.id) ?? 0) + 1);
  return counts;
}

/** The LWW commits the server stored for a doc, oldest first. */
async function lwwLog(docId: string): Promise<LWWLogEntry[]> {
  return (await serverStore.readLog(docId, 0)).filter((entry): entry is LWWLogEntry => entry.kind === 'lww');
}

/** A Node client (in-memory store) of the same server. */
async function nodeClient() {
  const patches = new Patches({ store: new InMemoryStore(), metadata: { user: { id: 'node' } } });
  const sync = new PatchesSync(patches, server.url);
  const errors: Error[] = [];
  sync.onError(error => errors.push(error));
  cleanups.push(() => sync.destroy());
  await sync.connect();
  return { patches, sync, errors };
}

describeWithChromium()('IndexedDBStore in Chromium (issue 6)', () => {
  beforeAll(async () => {
    pageServer = await startPageServer();
  });

  afterAll(async () => {
    await pageServer?.close();
  });

  beforeEach(async () => {
    cleanups = [];
    serverFaults = [];
    serverStore = new MemoryServerStore();
    server = await startServer({ port: 0, store: serverStore, onError: error => serverFaults.push(error) });
    cleanups.push(() => server.close());
    profileDir = mkdtempSync(join(tmpdir(), 'patches-rx-e2e-profile-'));
    cleanups.push(() => rmSync(profileDir, { recursive: true, force: true }));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('should keep offline edits across a browser restart and deliver them exactly once', async () => {
    const docId = 'notes-offline';
    const history = await reader();

    // 1. Online: the page commits a first edit; a Node client sees it.
    const first = await openBrowser();
    await start(first, { url: server.url, dbName: 'notes', docId });
    await first.page.evaluate(() => window.app.addItem('online 1'));
    const online = await first.page.evaluate(() => window.app.whenSynced());
    expect(online.committedRev).toBe(1);

    const node = await nodeClient();
    const nodeDoc = await node.patches.openDoc<NotesDoc>(docId);
    await docSynced(node.sync, docId, 1);
    expect(nodeDoc.state).toEqual({ items: ['online 1'] });

    // 2. The browser goes offline (navigator.onLine = false, `offline` event, no new connections):
    //    PatchesSync closes its socket. Edits are made and land in IndexedDB.
    await first.context.setOffline(true);
    await first.page.evaluate(() => window.app.whenOffline());
    await first.page.evaluate(() => window.app.addItem('offline 1'));
    await first.page.evaluate(() => window.app.addItem('offline 2'));
    await first.page.evaluate(() => window.app.set('title', 'written offline'));
    const offline = await first.page.evaluate(() => window.app.snapshot());
    expect(offline).toMatchObject({ online: false, connected: false, committedRev: 1 });
    expect(offline.state).toEqual({ title: 'written offline', items: ['online 1', 'offline 1', 'offline 2'] });
    expect(offline.pendingIds).toHaveLength(3);

    // Meanwhile the Node client edits the same doc, so the restart has something to rebase over.
    nodeDoc.change(draft => {
      draft.items!.unshift('from node');
    });
    await docSynced(node.sync, docId, 2);

    // 3. The browser is closed entirely with the edits unsent: the server never saw them.
    await first.close();
    const beforeRestart = (await serverHistory(history, docId)).map(change => change.id);
    expect(beforeRestart).toHaveLength(2);
    expect(beforeRestart.filter(id => offline.pendingIds.includes(id))).toEqual([]);

    // 4. Restart on the same profile. Before connecting, the doc opens from IndexedDB with the
    //    offline edits still pending, under the same change ids.
    const second = await openBrowser();
    const restored = await start(second, { url: server.url, dbName: 'notes', docId, connect: false });
    expect(restored.state).toEqual(offline.state);
    expect(restored.pendingIds).toEqual(offline.pendingIds);
    expect(restored.committedRev).toBe(1);

    // 5. Online again: the pending edits go out, rebased over the Node client's change.
    const synced = await second.page.evaluate(() => window.app.connect());
    expect(synced.pendingIds).toEqual([]);
    expect(synced.committedRev).toBe(5);

    // The server holds every edit exactly once, under the ids minted offline.
    const committed = await serverHistory(history, docId);
    const counts = countIds(committed);
    expect(committed).toHaveLength(5);
    expect([...counts.values()].every(count => count === 1)).toBe(true);
    for (const id of offline.pendingIds) expect(counts.get(id)).toBe(1);
    expect(committed.map(change => change.rev)).toEqual([1, 2, 3, 4, 5]);
    // Nothing was sent twice either.
    expect(server.stats.duplicateChanges).toBe(0);

    // The Node client sees them once, and both sides converge.
    const expected: NotesDoc = { title: 'written offline', items: ['from node', 'online 1', 'offline 1', 'offline 2'] };
    await when(nodeDoc.state$, state => state.title === 'written offline' && state.items!.length >= 4);
    await docSynced(node.sync, docId, 5);
    expect(nodeDoc.state).toEqual(expected);
    expect(synced.state).toEqual(expected);

    // The page renders the doc; the screenshot is kept for a look.
    await expect(second.page.locator('#items li').allTextContents()).resolves.toEqual(expected.items);
    await expect(second.page.locator('#title').textContent()).resolves.toBe('written offline');
    await second.page.screenshot({ path: SCREENSHOT });

    expect(synced.errors).toEqual([]);
    expect(first.pageErrors).toEqual([]);
    expect(second.pageErrors).toEqual([]);
    expect(node.errors).toEqual([]);
    expect(serverFaults).toEqual([]);
  });

  it('should keep offline LWW edits across a browser restart, the later write winning per field', async () => {
    const docId = 'lww-settings';
    const history = await reader();

    const first = await openBrowser();
    await start(first, { url: server.url, dbName: 'notes', docId, algorithm: 'lww' });
    await first.page.evaluate(() => window.app.set('title', 'online'));
    await first.page.evaluate(() => window.app.whenSynced());

    const node = await nodeClient();
    const nodeDoc = await node.patches.openDoc<NotesDoc>(docId, { algorithm: 'lww' });
    await docSynced(node.sync, docId, 1);
    expect(nodeDoc.state).toEqual({ title: 'online' });

    // Offline, the page writes both fields; they wait in IndexedDB as pending ops.
    await first.context.setOffline(true);
    await first.page.evaluate(() => window.app.whenOffline());
    await first.page.evaluate(() => window.app.set('title', 'offline title'));
    await first.page.evaluate(() => window.app.set('color', 'blue'));
    const offline = await first.page.evaluate(() => window.app.snapshot());
    expect(offline.state).toEqual({ title: 'offline title', color: 'blue' });
    expect(offline.pendingPaths).toEqual(['/color', '/title']);
    expect(offline.sendingId).toBeNull();

    // Later than the page's offline writes, the Node client sets the color.
    nodeDoc.change(draft => {
      draft.color = 'red';
    });
    await docSynced(node.sync, docId, 2);
    await first.close();
    expect((await lwwLog(docId)).map(entry => entry.save.map(op => [op.path, op.value]))).toEqual([[['/title', 'online']], [['/color', 'red']]]);

    const second = await openBrowser();
    const restored = await start(second, { url: server.url, dbName: 'notes', docId, algorithm: 'lww', connect: false });
    expect(restored.state).toEqual(offline.state);
    expect(restored.pendingPaths).toEqual(['/color', '/title']);
    const synced = await second.page.evaluate(() => window.app.connect());

    // The page's offline commit is stored once; the title is the page's, the color the Node
    // client's (written later), on both sides.
    const expected: NotesDoc = { title: 'offline title', color: 'red' };
    expect(synced).toMatchObject({ state: expected, pendingPaths: [], sendingId: null, committedRev: 3 });
    const log = await lwwLog(docId);
    expect(log.map(entry => entry.save.map(op => [op.path, op.value]))).toEqual([[['/title', 'online']], [['/color', 'red']], [['/title', 'offline title']]]);
    const changeIds = log.flatMap(entry => entry.changeIds);
    expect(changeIds).toHaveLength(3);
    expect(new Set(changeIds).size).toBe(3);
    const [row] = await serverHistory(history, docId);
    expect(row.ops.map(op => [op.path, op.value, op.rev])).toEqual(expect.arrayContaining([['/title', 'offline title', 3], ['/color', 'red', 2]]));
    await when(nodeDoc.state$, state => state.title === 'offline title');
    expect(nodeDoc.state).toEqual(expected);

    expect(synced.errors).toEqual([]);
    expect(first.pageErrors).toEqual([]);
    expect(second.pageErrors).toEqual([]);
    expect(node.errors).toEqual([]);
    expect(serverFaults).toEqual([]);
  });

  it('should not apply twice a commit the server stored but never acknowledged before the browser closed', async () => {
    const docId = 'notes-lost-ack';
    const proxy: ReplyHoldingProxy = await startReplyHoldingProxy(server.port);
    cleanups.push(() => proxy.close());
    const watcher = await reader();
    await watcher.call('subscribe', [[docId]]);

    const first = await openBrowser();
    await start(first, { url: proxy.url, dbName: 'notes', docId });
    await first.page.evaluate(() => window.app.addItem('baseline'));
    await first.page.evaluate(() => window.app.whenSynced());
    await watcher.notification('changesCommitted', docId);

    // The commit goes out and is stored; its reply is held back, then the browser closes.
    proxy.holdReplies = true;
    await first.page.evaluate(() => window.app.addItem('in flight'));
    const notified = await watcher.notification('changesCommitted', docId);
    const [stored] = (notified.params as { changes: Change[] }).changes;
    const inFlight = await first.page.evaluate(() => window.app.snapshot());
    expect(inFlight.pendingIds).toEqual([stored.id]);
    expect(inFlight.connected).toBe(true);
    await first.close();
    proxy.holdReplies = false;
    expect(proxy.heldBytes).toBeGreaterThan(0);

    // After the restart the change is still pending locally, so it is sent again: the server
    // recognises its id, and the page ends with it applied once.
    const second = await openBrowser();
    const restored = await start(second, { url: proxy.url, dbName: 'notes', docId, connect: false });
    expect(restored.pendingIds).toEqual([stored.id]);
    expect(restored.state).toEqual({ items: ['baseline', 'in flight'] });
    const synced = await second.page.evaluate(() => window.app.connect());

    expect(synced.state).toEqual({ items: ['baseline', 'in flight'] });
    expect(synced.pendingIds).toEqual([]);
    expect(synced.committedRev).toBe(2);
    const committed = await serverHistory(watcher, docId);
    expect(committed.map(change => change.id)).toEqual([committed[0].id, stored.id]);
    expect(server.stats.duplicateChanges).toBe(1);

    expect(synced.errors).toEqual([]);
    expect(first.pageErrors).toEqual([]);
    expect(second.pageErrors).toEqual([]);
    expect(serverFaults).toEqual([]);
  });
});
