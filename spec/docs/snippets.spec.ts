/**
 * Every snippet of docs/*.md and README.md is compiled or run here, so the docs cannot drift from the code:
 * - ```ts blocks are type-checked together, strictly, as an app would write them (importing the
 *   built package as `patches-rx`, `patches-rx/net`, `patches-rx/server`);
 * - ```ts run blocks are also run with Node and must exit 0 (they assert what they claim);
 * - ```ts file=<path> blocks must be a verbatim excerpt of that file, which is itself compiled
 *   (examples/board by `npm run typecheck`, examples/angular by `npm run example:angular`);
 * - ```sh blocks may only use npm scripts and bench files that exist and `patches-rx-server` flags it knows;
 * - ```nginx blocks must carry the headers a WebSocket upgrade needs through a proxy.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { transform } from 'esbuild';
import ts from 'typescript';
import { USAGE } from '../../src/server/cli.js';

const ROOT = join(__dirname, '..', '..');
const DOCS = join(ROOT, 'docs');
/** Inside the package, so `patches-rx` resolves to the built package by self-reference. */
const OUT = join(ROOT, '.tmp', 'docs-snippets');

interface Snippet {
  /** `docs/x.md:<line>` */
  where: string;
  /** File-safe name. */
  name: string;
  lang: string;
  info: string;
  code: string;
}

function snippets(): Snippet[] {
  const found: Snippet[] = [];
  // docs/*.md, and the README's own (its API overview, its commands).
  const files = [...readdirSync(DOCS).filter(name => name.endsWith('.md')).map(name => `docs/${name}`), 'README.md'];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```\s*$/gm)) {
      const line = text.slice(0, match.index).split('\n').length;
      found.push({ where: `${file}:${line}`, name: `${file.replace(/^docs\//, '').replace(/\.md$/, '')}${file === 'README.md' ? '-root' : ''}-${line}`, lang: match[1], info: match[2].trim(), code: match[3] });
    }
  }
  return found;
}

const all = snippets();
/** The npm scripts of package.json. */
const SCRIPTS = new Set(Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts));
const typescriptSnippets = all.filter(s => s.lang === 'ts' && !s.info.startsWith('file='));

describe('docs snippets', () => {
  beforeAll(() => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    // Each snippet is a module of its own (top-level await, no shared globals).
    for (const snippet of typescriptSnippets) writeFileSync(join(OUT, `${snippet.name}.ts`), `${snippet.code}\nexport {};\n`);
  });

  it('should find snippets in every doc', () => {
    const docs = readdirSync(DOCS).filter(name => name.endsWith('.md') && name !== 'README.md');
    for (const doc of docs) expect([doc, all.filter(s => s.where.startsWith(`docs/${doc}:`)).length > 0]).toEqual([doc, true]);
    expect(all.every(s => s.lang !== '')).toBe(true);
  });

  it('should type-check every ts snippet strictly against the built package', () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    const program = ts.createProgram(
      typescriptSnippets.map(s => join(OUT, `${s.name}.ts`)),
      { ...parsed!.options, noEmit: true, noUnusedLocals: false, types: ['node'] },
    );
    const problems = ts.getPreEmitDiagnostics(program).map(d => {
      const where = d.file ? `${d.file.fileName.slice(OUT.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);

  const runnable = typescriptSnippets.filter(s => s.info === 'run');
  it.each(runnable.map(s => [s.where, s] as const))('should run %s and exit 0', async (_where, snippet) => {
    const { code } = await transform(snippet.code, { loader: 'ts', format: 'esm', target: 'node20' });
    const file = join(OUT, `${snippet.name}.mjs`);
    writeFileSync(file, code);
    const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: ROOT, timeout: 60_000 });
    expect(typeof stdout).toBe('string');
  }, 90_000);

  it('should quote every file= snippet verbatim from its file', () => {
    const quoted = all.filter(s => s.info.startsWith('file='));
    expect(quoted.length).toBeGreaterThan(0);
    for (const snippet of quoted) {
      const path = snippet.info.slice('file='.length);
      const source = readFileSync(join(ROOT, path), 'utf8');
      expect([snippet.where, path, source.includes(snippet.code.trimEnd())]).toEqual([snippet.where, path, true]);
    }
  });

  it('should use only npm scripts that exist, bench files that exist and server flags the CLI knows in sh snippets', () => {
    const flags = new Set(USAGE.match(/--[a-z-]+/g));
    for (const snippet of all.filter(s => s.lang === 'sh')) {
      for (const line of snippet.code.split('\n').map(l => l.replace(/#.*$/, ''))) {
        for (const [, script] of line.matchAll(/npm (?:run )?([a-z:-]+)/g)) {
          if (['ci', 'install', 'run', 'pack'].includes(script)) continue; // npm's own commands
          expect([snippet.where, script, SCRIPTS.has(script)]).toEqual([snippet.where, script, true]);
        }
        for (const [bench] of line.matchAll(/bench\/[\w.-]+\.js/g)) expect([snippet.where, bench, existsSync(join(ROOT, bench))]).toEqual([snippet.where, bench, true]);
        if (!line.includes('patches-rx-server')) continue;
        for (const flag of line.match(/--[a-z-]+/g) ?? []) expect([snippet.where, flag, flags.has(flag)]).toEqual([snippet.where, flag, true]);
      }
    }
  });

  // A command a reader copies from the prose rather than from a block (the Quick start's `npm run demo:node`).
  it('should name only npm scripts that exist in the prose too', () => {
    for (const file of [...readdirSync(DOCS).filter(name => name.endsWith('.md')).map(name => `docs/${name}`), 'README.md']) {
      const prose = readFileSync(join(ROOT, file), 'utf8').replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '');
      for (const [, script] of prose.matchAll(/npm run ([a-z:-]+)/g)) expect([file, script, SCRIPTS.has(script)]).toEqual([file, script, true]);
    }
  });

  it('should pass the WebSocket upgrade through every nginx snippet', () => {
    for (const snippet of all.filter(s => s.lang === 'nginx')) {
      expect([snippet.where, snippet.code]).toEqual([snippet.where, expect.stringContaining('proxy_http_version 1.1;')]);
      expect(snippet.code).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
      expect(snippet.code).toMatch(/proxy_set_header Connection "upgrade";/);
    }
  });
});
