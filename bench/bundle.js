// Browser bundle sizes: small apps bundled from dist/ with esbuild (ESM, minified, browser
// platform, tree-shaken as a bundler would for an app), then gzip -9. Each app imports what a
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
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { analyzeMetafile, build } from 'esbuild';
import { printAgainstBaseline } from './figures.js';

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

/** Bundles one app; resolves to its minified and gzip -9 sizes and its largest inputs. */
async function bundle(source, workDir) {
  const entry = join(workDir, 'app.js');
  writeFileSync(entry, source);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  const byPackage = new Map();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const key = match ? match[1] : path.includes('dist/') ? 'patches-rx' : path;
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return {
    analysis: await analyzeMetafile(result.metafile),
    minified: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    parts: [...byPackage].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => ({ name, bytes })),
  };
}

const kb = (bytes) => (bytes / 1024).toFixed(1);

/**
 * Bundles every app and prints its sizes.
 *
 * @param {{ log?: (line: string) => void, analyze?: boolean }} [options]
 * @returns {Promise<Array<{ app: string, minifiedKB: number, gzipKB: number, parts: Array<{ name: string, bytes: number }> }>>}
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
    log('app          minified KB   gzip -9 KB   largest inputs (minified KB)');
    for (const [app, source] of Object.entries(APPS)) {
      const size = await bundle(source, workDir);
      const parts = size.parts.slice(0, 5).map((part) => `${part.name} ${kb(part.bytes)}`).join(', ');
      log(`${app.padEnd(12)} ${kb(size.minified).padStart(11)} ${kb(size.gzip).padStart(12)}   ${parts}`);
      if (analyze) log(size.analysis);
      results.push({ app, minifiedKB: Number(kb(size.minified)), gzipKB: Number(kb(size.gzip)), parts: size.parts });
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
