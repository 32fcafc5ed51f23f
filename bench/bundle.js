// Browser bundle sizes: small apps bundled from dist/ with esbuild (ESM, minified, browser
// platform, tree-shaken and code-split as an app's bundler would), then gzip -9. The figure of
// each app is what it loads: the startup files, plus any chunk it loads on first use (none today:
// every app loads one file). The one-file size (no code splitting) is printed beside it. Each app imports what a
// real app of its kind needs and uses it, so nothing it needs is shaken away:
//   OT app     Patches + IndexedDBStore + PatchesSync (the figure the issue targets: ≤ 30 KB gzip)
//   LWW app    the same, opening an LWW doc
//   @txt app   the OT app plus rich-text support (`patches-rx/txt`, quill-delta)
// The largest inputs of each bundle are printed too, so a reader sees what the bytes are, and
// run alone it prints each figure beside bench/baseline.json. `--analyze` adds esbuild's
// analyzeMetafile of each app (every input file, largest first).
//
//   npm run build && node bench/bundle.js [--analyze]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { analyzeMetafile, build } from 'esbuild';
import { printAgainstBaseline } from './figures.js';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');


/** Apps that open an LWW doc, and so load the LWW chunk too (the others never request it). */
const OPENS_LWW_DOC = new Set(['LWW app']);

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

/**
 * Bundles one app with code splitting, as an app's bundler would: a dynamic `import()` (LWW,
 * loaded on first use) becomes a chunk of its own. Resolves to the bytes loaded at startup (the
 * entry and the chunks it imports statically), the bytes of the chunks loaded on first use, and
 * the largest inputs of the startup bytes. gzip -9 is summed per file, as each is downloaded.
 */
async function bundle(source, workDir) {
  const entry = join(workDir, 'app.js');
  writeFileSync(entry, source);
  const outdir = join(workDir, 'out');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
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
  // What opening the first LWW doc loads: the chunk holding LWWAlgorithm and what it imports.
  const lwwChunk = Object.keys(outputs).find((path) => Object.keys(outputs[path].inputs).some((input) => input.endsWith('client/LWWAlgorithm.js')));
  const lww = lwwChunk === undefined ? [] : [...closure(lwwChunk)].filter((path) => !startup.has(path));
  const measure = (paths) => {
    const codes = paths.map((path) => contents.get(path));
    return { minified: codes.reduce((sum, code) => sum + code.length, 0), gzip: codes.reduce((sum, code) => sum + gzipSync(code, { level: 9 }).length, 0) };
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
  // The same app as one file (a bundler without code splitting): the lazy chunks are inlined.
  const single = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  return {
    singleFile: { gzip: gzipSync(single.outputFiles[0].contents, { level: 9 }).length },
    analysis: await analyzeMetafile(result.metafile),
    startup: measure([...startup]),
    onDemand: measure(onDemand),
    lww: measure(lww),
    parts: [...byPackage].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => ({ name, bytes })),
  };
}

const kb = (bytes) => (bytes / 1024).toFixed(1);

/**
 * Bundles every app and prints its sizes.
 *
 * @param {{ log?: (line: string) => void, analyze?: boolean }} [options]
 * @returns {Promise<Array<{ app: string, minifiedKB: number, startupGzipKB: number, onDemandGzipKB: number, gzipKB: number, singleFileGzipKB: number, parts: Array<{ name: string, bytes: number }> }>>}
 */
export async function main(options = {}) {
  const log = options.log ?? console.log;
  const analyze = options.analyze ?? false;
  const workDir = mkdtempSync(join(tmpdir(), 'patches-rx-bundle-'));
  // `patches-rx` resolves to this checkout through its package.json exports map, as in an app.
  mkdirSync(join(workDir, 'node_modules'));
  symlinkSync(join(here, '..'), join(workDir, 'node_modules', 'patches-rx'), 'dir');
  const results = [];
  try {
    log('app          startup: minified KB  gzip -9 KB   on first use (all chunks): gzip KB   loaded: gzip KB   one file, no splitting: gzip KB   largest startup inputs (minified KB)');
    for (const [app, source] of Object.entries(APPS)) {
      const size = await bundle(source, workDir);
      const loaded = size.startup.gzip + (OPENS_LWW_DOC.has(app) ? size.lww.gzip : 0);
      const parts = size.parts.slice(0, 5).map((part) => `${part.name} ${kb(part.bytes)}`).join(', ');
      log(`${app.padEnd(12)} ${kb(size.startup.minified).padStart(20)} ${kb(size.startup.gzip).padStart(11)} ${kb(size.onDemand.gzip).padStart(36)} ${kb(loaded).padStart(17)} ${kb(size.singleFile.gzip).padStart(33)}   ${parts}`);
      if (analyze) log(size.analysis);
      results.push({
        app,
        minifiedKB: Number(kb(size.startup.minified)),
        startupGzipKB: Number(kb(size.startup.gzip)),
        onDemandGzipKB: Number(kb(size.onDemand.gzip)),
        gzipKB: Number(kb(loaded)),
        singleFileGzipKB: Number(kb(size.singleFile.gzip)),
        parts: size.parts,
      });
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const baselineFile = join(here, 'baseline.json');
  const baseline = existsSync(baselineFile) ? JSON.parse(readFileSync(baselineFile, 'utf8')) : undefined;
  main({ analyze: process.argv.includes('--analyze') }).then((results) => printAgainstBaseline('bundle', results, baseline)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
