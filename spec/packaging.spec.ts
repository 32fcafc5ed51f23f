/**
 * The built package as an app installs it (`npm run build` first): found from a project of its
 * own through `node_modules/patches-rx`, a symlink to this repository. Each case is something an
 * app met in review: CommonJS Jest and `require` found no `default` export, `moduleResolution:
 * node10` found no `patches-rx/net`, an app on another rxjs 7 got a second copy, `patches-rx/server`'s
 * types needed @types/ws, and the source maps named sources that were not shipped.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installApp, ROOT, runInApp, typeCheckApp } from './helpers/installedApp.js';


interface Manifest {
  exports: Record<string, string | Record<string, string>>;
  typesVersions?: Record<string, Record<string, string[]>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  files: string[];
}
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
/** `.`, `./net`…: every entry point but `./package.json`. */
const entries = Object.keys(manifest.exports).filter(key => key !== './package.json');
const specifier = (entry: string): string => (entry === '.' ? 'patches-rx' : `patches-rx/${entry.slice(2)}`);
const conditions = (entry: string): Record<string, string> => manifest.exports[entry] as Record<string, string>;

// require() of an ES module, unflagged: Node 20.19+, 22.12+ (jest's sandbox hides process.features).
const [major, minor] = process.versions.node.split('.').map(Number);
const REQUIRE_ESM = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(d => (d.isDirectory() ? filesUnder(join(dir, d.name)) : [join(dir, d.name)]));
}

/** The app, with a file importing every entry. */
let APP: string;

/** Type-checks the file importing every entry; resolves with the files of the program (`--listFiles`). */
async function typeCheck(name: string, module: string, moduleResolution: string): Promise<string[]> {
  const compilerOptions = { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: ['node'], module, moduleResolution };
  return (await typeCheckApp(APP, name, compilerOptions, ['--listFiles'])).split('\n');
}

describe('the built package, installed', () => {
  beforeAll(() => {
    APP = installApp('packaging', `${entries.map((entry, i) => `import * as entry${i} from '${specifier(entry)}';`).join('\n')}\nexport { ${entries.map((_, i) => `entry${i}`).join(', ')} };\n`);
  });

  it.each(entries)('should give %s types first, then import and a default for require (CommonJS Jest, require(esm))', entry => {
    expect(Object.keys(conditions(entry))).toEqual(['types', 'import', 'default']);
    expect(conditions(entry).default).toBe(conditions(entry).import);
    for (const file of Object.values(conditions(entry))) expect([file, existsSync(join(ROOT, file))]).toEqual([file, true]);
  });

  it('should map every subpath in typesVersions to its exports types (moduleResolution node10)', () => {
    const mapped = manifest.typesVersions?.['*'] ?? {};
    const subpaths = entries.filter(entry => entry !== '.');
    expect(Object.keys(mapped).sort()).toEqual(subpaths.map(entry => entry.slice(2)).sort());
    for (const entry of subpaths) expect(mapped[entry.slice(2)]).toEqual([conditions(entry).types]);
  });

  it('should take rxjs as a peer, so an app on another rxjs 7 passes its own Observables in', () => {
    expect(manifest.dependencies?.rxjs).toBeUndefined();
    expect(manifest.peerDependencies?.rxjs).toMatch(/^\^7\./);
    expect(manifest.devDependencies?.rxjs).toBeDefined();
  });

  it('should ship the docs the README links to, each of them there', () => {
    const linked = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#\s]+)/g)].map(match => match[1]);
    expect(linked.length).toBeGreaterThan(0);
    expect(manifest.files).toContain('docs');
    expect(linked.filter(file => !existsSync(join(ROOT, file)))).toEqual([]);
  });

  it('should carry the sources in every source map (src/ is not shipped)', () => {
    const maps = filesUnder(join(ROOT, 'dist')).filter(file => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    const without = maps.filter(file => {
      const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      return map.sourcesContent?.length !== map.sources.length || map.sourcesContent.some(content => typeof content !== 'string');
    });
    expect(without).toEqual([]);
  });

  (REQUIRE_ESM ? it : it.skip)('should require() every entry from CommonJS, with the exports import() gives', async () => {
    const probe = `const names = ${JSON.stringify(entries.map(specifier))};
(async () => {
  for (const name of names) {
    const required = Object.keys(require(name)).sort().join();
    const imported = Object.keys(await import(name)).sort().join();
    if (!required || required !== imported) throw new Error(name + ': ' + required + ' / ' + imported);
  }
  console.log(names.length);
})().catch(error => { console.error(error.code ?? '', error.message); process.exit(1); });
`;
    writeFileSync(join(APP, 'probe.cjs'), probe);
    expect((await runInApp(APP, 'probe.cjs')).trim()).toBe(String(entries.length));
  });

  it('should type-check an app importing every entry, under node10 and nodenext, without @types/ws or pg', async () => {
    const [node10, nodenext] = await Promise.all([typeCheck('node10', 'commonjs', 'node10'), typeCheck('nodenext', 'nodenext', 'nodenext')]);
    for (const files of [node10, nodenext]) {
      expect(files.filter(file => file.includes('/dist/server/index.d.ts'))).toHaveLength(1);
      expect(files.filter(file => /\/node_modules\/(@types\/ws|@types\/pg|pg|ws)\//.test(file))).toEqual([]);
    }
  }, 30_000);
});
