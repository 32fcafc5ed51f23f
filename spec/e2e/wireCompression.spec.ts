/**
 * Wire compression with a real browser: Chromium offers permessage-deflate with
 * client_max_window_bits, so our server caps both windows at 4 KB (src/server/wireCompression.ts),
 * compressing large frames alone by default and every frame against kept windows with
 * ALL_FRAMES_PER_MESSAGE_DEFLATE; commits typed in the page go through either way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_FRAMES_PER_MESSAGE_DEFLATE, MemoryServerStore, startServer, type RunningServer } from '../../src/server/index.js';
import { describeWithChromium, launchBrowser, type BrowserSession } from './helpers/browser.js';

jest.setTimeout(60_000);

/** Runs in the page: connects, commits `count` small changes one after another, resolves with what it saw. */
function typeInPage({ url, count }: { url: string; count: number }): Promise<{ extensions: string; revs: number[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const revs: number[] = [];
    const commit = (i: number): void => {
      const change = { id: `browser-${i}`, baseRev: i, rev: i + 1, ops: [{ op: 'replace', path: `/field${i % 5}`, value: `typed ${i}` }], createdAt: 1 };
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: i + 1, method: 'commitChanges', params: ['browser-doc', [change], { compactAck: true }] }));
    };
    socket.onopen = () => commit(0);
    socket.onerror = () => reject(new Error('the page could not connect'));
    socket.onmessage = (event) => {
      const frame = JSON.parse(String(event.data)) as { id?: number; result?: { changes?: Array<{ rev: number }> }; error?: { message: string } };
      if (frame.id === undefined) return;
      if (frame.error) return reject(new Error(frame.error.message));
      revs.push(...(frame.result?.changes ?? []).map((change) => change.rev));
      if (frame.id < count) commit(frame.id);
      else {
        resolve({ extensions: socket.extensions, revs });
        socket.close();
      }
    };
  });
}

describeWithChromium()('wire compression with Chromium', () => {
  let server: RunningServer;
  let allFrames: RunningServer;
  let browser: BrowserSession;
  let profile: string;

  beforeAll(async () => {
    server = await startServer({ port: 0, store: new MemoryServerStore(), onHttpRequest: (_request, response) => response.end('<!doctype html><title>wire</title>') });
    allFrames = await startServer({ port: 0, store: new MemoryServerStore(), compression: ALL_FRAMES_PER_MESSAGE_DEFLATE });
    profile = mkdtempSync(join(tmpdir(), 'patches-rx-wire-'));
    browser = await launchBrowser(profile, server.url.replace('ws://', 'http://'));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await allFrames?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  const paramsOf = (extensions: string): string[] => extensions.split(';').map((part) => part.trim());

  it('should negotiate 4 KB windows, reset after each message, by default', async () => {
    const seen = await browser.page.evaluate(typeInPage, { url: server.url, count: 5 });
    const [name, ...params] = paramsOf(seen.extensions);
    expect(name).toBe('permessage-deflate');
    expect(params.sort()).toEqual(['client_max_window_bits=12', 'client_no_context_takeover', 'server_max_window_bits=12', 'server_no_context_takeover']);
    expect(seen.revs).toEqual([1, 2, 3, 4, 5]);
    expect(browser.pageErrors).toEqual([]);
  });

  it('should negotiate kept 4 KB windows with ALL_FRAMES_PER_MESSAGE_DEFLATE and commit through them', async () => {
    const seen = await browser.page.evaluate(typeInPage, { url: allFrames.url, count: 20 });
    const [name, ...params] = paramsOf(seen.extensions);
    expect(name).toBe('permessage-deflate');
    expect(params.sort()).toEqual(['client_max_window_bits=12', 'server_max_window_bits=12']);
    expect(seen.revs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(browser.pageErrors).toEqual([]);
  });
});
