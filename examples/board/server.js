#!/usr/bin/env node
// `npm start`: builds the package if its sources changed, then starts the reference server (a
// durable store in ./data, loopback) and serves the demo board from the same process and port.
//
//   node examples/board/server.js [--port 8787] [--host 127.0.0.1] [--data ./data] [--max-change-bytes n]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const DIST_ENTRY = join(ROOT, 'dist', 'index.js');

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: './data' },
      'max-change-bytes': { type: 'string' },
    },
  }));
} catch (error) {
  if (!String(error?.code).startsWith('ERR_PARSE_ARGS_')) throw error;
  // A usage error, not a crash: one line and exit 2, as patches-rx-server does. Node's message
  // goes on about positional arguments after its first sentence, which is all that matters here.
  console.error(`npm start: ${error.message.split('. ')[0]} (the demo takes --port, --host, --data and --max-change-bytes; the other flags are patches-rx-server's)`);
  process.exit(2);
}

/** The newest modification time under `dir`, in ms. */
function newest(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);
}

if (!existsSync(DIST_ENTRY) || newest(join(ROOT, 'src')) > statSync(DIST_ENTRY).mtimeMs) {
  console.log('building patches-rx (tsc → dist/)…');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}

const { build } = await import('esbuild');
const { startServer } = await import('../../dist/server/index.js');

// The page runs the built package (with its real rxjs, immer and idb), bundled in memory.
const bundle = await build({
  entryPoints: [join(HERE, 'app.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  sourcemap: 'inline',
  alias: { 'patches-rx': DIST_ENTRY },
  logLevel: 'warning',
});
const files = new Map([
  ['/', { type: 'text/html; charset=utf-8', body: readFileSync(join(HERE, 'index.html')) }],
  ['/app.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(bundle.outputFiles[0].contents) }],
  ['/sw.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(HERE, 'sw.js')) }],
]);

// The Angular example, once built (`npm run example:angular`), is served at /angular/.
const ANGULAR_DIR = join(ROOT, 'examples', 'angular', 'dist', 'browser');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** A file of the Angular build for a path under /angular/ (its index.html for app routes), or undefined. */
function angularFile(pathname) {
  if (!pathname.startsWith('/angular/') || !existsSync(join(ANGULAR_DIR, 'index.html'))) return undefined;
  let decoded;
  try {
    decoded = decodeURIComponent(pathname.slice('/angular'.length));
  } catch {
    // A malformed escape (`%E0%A4%A`) names no file: a 404, not a URIError thrown out of the
    // request handler, which ended the whole process (found in review).
    return undefined;
  }
  const path = resolve(ANGULAR_DIR, '.' + decoded);
  if (path !== ANGULAR_DIR && !path.startsWith(ANGULAR_DIR + sep)) return undefined;
  const file = existsSync(path) && statSync(path).isFile() ? path : join(ANGULAR_DIR, 'index.html');
  return { type: TYPES[extname(file)] ?? 'application/octet-stream', body: readFileSync(file) };
}

const dataDir = resolve(args.data);
let server;
try {
  server = await startServer({
    port: Number(args.port),
    host: args.host,
    dataDir,
    maxChangeBytes: args['max-change-bytes'] === undefined ? undefined : Number(args['max-change-bytes']),
    onHttpRequest: (request, response) => {
      const pathname = new URL(request.url ?? '/', 'http://x').pathname;
      const file = request.method === 'GET' ? (files.get(pathname) ?? angularFile(pathname)) : undefined;
      if (!file) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' }).end(file.body);
    },
  });
} catch (error) {
  const hint = error?.code === 'EADDRINUSE' ? ` (port ${args.port} is taken: try \`npm start -- --port 0\`)` : '';
  console.error(`could not start the demo server: ${error?.message ?? error}${hint}`);
  process.exit(1);
}

const host = args.host.includes(':') ? `[${args.host}]` : args.host;
console.log(`patches-rx demo: http://${host}:${server.port}/`);
console.log('  open it in two tabs, or two browsers, and edit in one; tick "Work offline" to queue changes');
if (existsSync(join(ANGULAR_DIR, 'index.html'))) console.log(`  the Angular example on the same board: http://${host}:${server.port}/angular/`);
console.log(`  reference server: ${server.url} (documents kept in ${dataDir})`);
console.log('  Ctrl-C stops it');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      error => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
