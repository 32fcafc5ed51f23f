import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..', '..', '..');
const PAGE_DIR = join(ROOT, 'spec', 'e2e', 'page');
/** The built package the page runs on: what `npm run build` writes. */
export const DIST_ENTRY = join(ROOT, 'dist', 'index.js');

/** The e2e page, served over HTTP on loopback. */
export interface PageServer {
  /** `http://127.0.0.1:<port>/`: the page. The port (and so the origin, and its IndexedDB) is fixed for the server's life. */
  url: string;
  /** Bytes of the bundled `app.js`. */
  bundleBytes: number;
  /** Milliseconds esbuild took. */
  bundleMs: number;
  close(): Promise<void>;
}

/**
 * Bundles `spec/e2e/page/app.ts` with esbuild (in memory, `patches-rx` resolved to `dist/`, so
 * the page runs the built package with its real `rxjs`, `immer`, `idb` and `quill-delta`), and
 * serves it with `index.html` from a Node `http` server on 127.0.0.1.
 *
 * @param entry the page script to bundle (default `spec/e2e/page/app.ts`)
 */
export async function startPageServer(entry: string = join(PAGE_DIR, 'app.ts')): Promise<PageServer> {
  if (!existsSync(DIST_ENTRY)) throw new Error(`${DIST_ENTRY} is missing: run \`npm run build\` first (\`npm test\` does).`);
  const started = Date.now();
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    sourcemap: 'inline',
    alias: { 'patches-rx': DIST_ENTRY },
    logLevel: 'silent',
  });
  const bundleMs = Date.now() - started;
  const script = Buffer.from(result.outputFiles[0].contents);
  const html = readFileSync(join(PAGE_DIR, 'index.html'));
  const files: Record<string, { type: string; body: Buffer }> = {
    '/': { type: 'text/html; charset=utf-8', body: html },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: script },
    // Another page of the site, to navigate away to (and back from: the back/forward cache).
    '/away': { type: 'text/html; charset=utf-8', body: Buffer.from('<!doctype html><title>away</title><link rel="icon" href="data:," /><p>Another page of the site.</p>') },
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://127.0.0.1').pathname];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    // Fetched anew on every load, yet not `no-store`: Chromium keeps no page served so in its back/forward cache.
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' }).end(file.body);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    bundleBytes: script.length,
    bundleMs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close(error => (error ? reject(error) : resolve()));
      }),
  };
}
