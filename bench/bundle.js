// Browser bundle sizes: small apps bundled from dist/ with esbuild (ESM, minified, browser
// platform, tree-shaken and code-split as an app's bundler would), then gzip -9. The figure of
// each app is what it loads at startup. The only other chunk is the Node-only `import('ws')` of
// webSocketCtor, which a browser never loads (it has a global WebSocket). Beside it: the same app
// as one file (no code splitting), and with rxjs's ES2015 build (a bundler resolving rxjs's
// `es2015` export condition, as Angular CLI does; the default one is ES5, with tslib). Each app
// imports what a real app of its kind needs and uses it, so nothing it needs is shaken away:
//   OT app     Patches + IndexedDBStore + PatchesSync (the figure the issue targets: ≤ 30 KB gzip)
//   LWW app    the same, opening an LWW doc
//   @txt app   the OT app plus rich-text support (`patches-rx/txt`, quill-delta)
// The largest inputs of each bundle are printed too, so a reader sees what the bytes are, and
// run alone it prints each figure beside bench/baseline.json. `--analyze` adds esbuild's
// analyzeMetafile of each app (every input file, minified, largest first); `--shares` adds each
// patches-rx file's gzip share of the OT app: how much smaller it gets with that module stubbed
// out (the module and whatever only it pulls in; shares overlap, so they do not sum to the total).
//
//   npm run build && node bench/bundle.js [--analyze] [--shares]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { analyzeMetafile, build } from 'esbuild';
import { printAgainstBaseline } from './figures.js';
import { runWhenStarted } from './runWhenStarted.js';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');


const APPS = {
  'OT app': `
    import { Patches, IndexedDBStore } from 'patches-rx';
    import { PatchesSync } from 'patches-rx/net';
    const patches = new Patches({ store: new IndexedDBStore('app') });
    const sync = new PatchesSync(patches, 'wss://example.test');
    await sync.connect();
    const doc = await patches.openDoc('notes');
    doc.onUpdate((state) => console.log(state));
    doc.change((draft) => { draft.title = 'x'; });
  `,
  'LWW app': `
    import { Patches, IndexedDBStore } from 'patches-rx';
    import { PatchesSync } from 'patches-rx/net';
    const patches = new Patches({ store: new IndexedDBStore('app') });
    const sync = new PatchesSync(patches, 'wss://example.test');
    await sync.connect();
    const doc = await patches.openDoc('settings', { algorithm: 'lww' });
    doc.change((draft) => { draft.theme = 'dark'; });
  `,
  '@txt app': `
    import { Patches, IndexedDBStore } from 'patches-rx';
    import { PatchesSync } from 'patches-rx/net';
    import { enableRichText } from 'patches-rx/txt';
    enableRichText();
    const patches = new Patches({ store: new IndexedDBStore('app') });
    const sync = new PatchesSync(patches, 'wss://example.test');
    await sync.connect();
    const doc = await patches.openDoc('story');
    doc.onUpdate((state) => console.log(state.body));
    doc.change((draft) => { draft.title = 'x'; });
  `,
};

/** esbuild options shared by every bundle: what an app's bundler does for the browser. */
const BUILD = { bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' };

const gzip = (code) => gzipSync(code, { level: 9 }).length;

/**
 * Bundles one app with code splitting, as an app's bundler would. Resolves to the bytes loaded at
 * startup (the entry and the chunks it imports statically), the bytes of the other chunks (loaded
 * on demand), the one-file and rxjs-ES2015 sizes, and the largest inputs of the startup bytes.
 * gzip -9 is summed per file, as each is downloaded.
 */
async function bundle(source, workDir) {
  const entry = join(workDir, 'app.js');
  writeFileSync(entry, source);
  const outdir = join(workDir, 'out');
  const result = await build({ ...BUILD, entryPoints: [entry], splitting: true, outdir, metafile: true });
  const outputs = result.metafile.outputs;
  const contents = new Map(result.outputFiles.map((file) => [relative(process.cwd(), file.path).split(sep).join('/'), file.contents]));
  const entryOutput = Object.keys(outputs).find((path) => outputs[path].entryPoint !== undefined);
  /** The files `path` loads with it: itself and what it imports statically. */
  const closure = (path, into = new Set()) => {
    if (into.has(path)) return into;
    into.add(path);
    for (const imported of outputs[path].imports) if (imported.kind === 'import-statement') closure(imported.path, into);
    return into;
  };
  const startup = closure(entryOutput);
  const measure = (paths) => {
    const codes = paths.map((path) => contents.get(path));
    return { minified: codes.reduce((sum, code) => sum + code.length, 0), gzip: codes.reduce((sum, code) => sum + gzip(code), 0) };
  };
  const onDemand = Object.keys(outputs).filter((path) => path.endsWith('.js') && !startup.has(path));
  const byPackage = new Map();
  for (const path of startup) {
    for (const [input, { bytesInOutput }] of Object.entries(outputs[path].inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = match ? match[1] : input.includes('dist/') ? 'patches-rx' : input;
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
  }
  // The same app as one file (a bundler without code splitting), and with rxjs's ES2015 build.
  const single = await build({ ...BUILD, entryPoints: [entry] });
  const es2015 = await build({ ...BUILD, entryPoints: [entry], conditions: ['es2015'] });
  return {
    singleFile: { gzip: gzip(single.outputFiles[0].contents) },
    es2015: { gzip: gzip(es2015.outputFiles[0].contents) },
    analysis: await analyzeMetafile(result.metafile),
    startup: measure([...startup]),
    onDemand: measure(onDemand),
    parts: [...byPackage].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => ({ name, bytes })),
  };
}

/**
 * Each patches-rx file's gzip share of one app (one file, no splitting): the app bundled again
 * with that module replaced by a stub exporting the same names as `undefined`, so the module and
 * whatever only it imports are shaken away. Resolves to the files, largest share first.
 */
async function shares(source, workDir) {
  const entry = join(workDir, 'app.js');
  writeFileSync(entry, source);
  const base = await build({ ...BUILD, entryPoints: [entry], metafile: true });
  const full = gzip(base.outputFiles[0].contents);
  const [output] = Object.values(base.metafile.outputs);
  const rows = [];
  for (const input of Object.keys(base.metafile.inputs)) {
    const file = resolve(input);
    if (!file.startsWith(dist + sep)) continue;
    const names = Object.keys(await import(pathToFileURL(file).href));
    if (names.length === 0) continue;
    const stub = names.map((name) => (name === 'default' ? 'export default undefined;' : `export const ${name} = undefined;`)).join('\n');
    const plugin = { name: 'stub', setup: (b) => b.onLoad({ filter: /\.js$/ }, (args) => (args.path === file ? { contents: stub, loader: 'js' } : undefined)) };
    const stubbed = await build({ ...BUILD, entryPoints: [entry], plugins: [plugin] });
    rows.push({ file: relative(dist, file).split(sep).join('/'), gzip: full - gzip(stubbed.outputFiles[0].contents), minified: output.inputs[input]?.bytesInOutput ?? 0 });
  }
  return { full, rows: rows.sort((a, b) => b.gzip - a.gzip) };
}

const kb = (bytes) => (bytes / 1024).toFixed(1);

/**
 * Bundles every app and prints its sizes.
 *
 * @param {{ log?: (line: string) => void, analyze?: boolean, shares?: boolean }} [options]
 * @returns {Promise<Array<{ app: string, minifiedKB: number, gzipKB: number, onDemandGzipKB: number, singleFileGzipKB: number, es2015GzipKB: number, parts: Array<{ name: string, bytes: number }> }>>}
 */
export async function main(options = {}) {
  const log = options.log ?? console.log;
  const workDir = mkdtempSync(join(tmpdir(), 'patches-rx-bundle-'));
  // `patches-rx` resolves to this checkout through its package.json exports map, as in an app.
  mkdirSync(join(workDir, 'node_modules'));
  symlinkSync(join(here, '..'), join(workDir, 'node_modules', 'patches-rx'), 'dir');
  const results = [];
  try {
    log('app          startup: minified KB  gzip -9 KB   on demand (today: Node\'s ws only): gzip KB   one file: gzip KB   rxjs es2015 build: gzip KB   largest startup inputs (minified KB)');
    for (const [app, source] of Object.entries(APPS)) {
      const size = await bundle(source, workDir);
      const parts = size.parts.slice(0, 5).map((part) => `${part.name} ${kb(part.bytes)}`).join(', ');
      log(`${app.padEnd(12)} ${kb(size.startup.minified).padStart(20)} ${kb(size.startup.gzip).padStart(11)} ${kb(size.onDemand.gzip).padStart(45)} ${kb(size.singleFile.gzip).padStart(19)} ${kb(size.es2015.gzip).padStart(28)}   ${parts}`);
      if (options.analyze) log(size.analysis);
      results.push({
        app,
        minifiedKB: Number(kb(size.startup.minified)),
        gzipKB: Number(kb(size.startup.gzip)),
        onDemandGzipKB: Number(kb(size.onDemand.gzip)),
        singleFileGzipKB: Number(kb(size.singleFile.gzip)),
        es2015GzipKB: Number(kb(size.es2015.gzip)),
        parts: size.parts,
      });
    }
    if (options.shares) {
      const { full, rows } = await shares(APPS['OT app'], workDir);
      log(`\nOT app as one file: ${kb(full)} KB gzip; each patches-rx file's share (gzip bytes saved with it stubbed out, minified bytes of the file itself):`);
      for (const row of rows) log(`${String(row.gzip).padStart(7)} ${String(row.minified).padStart(7)}   ${row.file}`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return results;
}

runWhenStarted(import.meta.url, async () => {
  const baselineFile = join(here, 'baseline.json');
  const baseline = existsSync(baselineFile) ? JSON.parse(readFileSync(baselineFile, 'utf8')) : undefined;
  printAgainstBaseline('bundle', await main({ analyze: process.argv.includes('--analyze'), shares: process.argv.includes('--shares') }), baseline);
});
