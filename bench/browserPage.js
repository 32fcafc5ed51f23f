// What the Chromium benches share: the browser (Debian's /usr/bin/chromium, the flags of
// spec/e2e/helpers/browser.ts) and a loopback page server for one script bundled with esbuild.
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Throws a clear error when Chromium is not installed. */
export function requireChromium() {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y --no-install-recommends chromium`);
}

/**
 * Bundles one script for the browser with esbuild (`entry`: esbuild options naming it, e.g.
 * `{ entryPoints: [file] }` or `{ stdin }`, plus any extra options) and serves it on 127.0.0.1
 * as `/bench.js`, under a blank page at `/`. Resolves to the page's `url` and `close()`.
 */
export async function servePage(entry) {
  const result = await build({ bundle: true, format: 'iife', platform: 'browser', target: 'chrome120', write: false, logLevel: 'silent', ...entry });
  const files = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="/bench.js"></script>'],
    '/bench.js': ['text/javascript', result.outputFiles[0].contents],
  };
  const server = createServer((request, response) => {
    const file = files[request.url];
    if (file) response.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
    else response.writeHead(404).end();
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise(resolve => server.close(resolve)) };
}
