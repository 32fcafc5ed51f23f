// How long a FileServerStore takes to start after a crash (by hand; not in `npm run bench`): a
// child process writes DOCS documents (two commits each, 50 docs at a time, fsync on, default
// options), waits for the checkpoint under way, makes TAIL more commits to docs picked at random,
// and kills itself with SIGKILL (its lock left behind, the last commits only in the journal and
// the page cache); a second child opens a store on the directory and times `open()` (the lock
// taken over, the journal replayed, whatever the start syncs), counting its syncs: file
// `fdatasync`s and directory `fsync`s. Builds are alternated, a fresh directory each time.
//
//   npm run build && node bench/crashStart.js [--docs N] [--tail N] [--rounds N] [root …]
//
// A root is a checkout of patches-rx with its dist/ built (default: this one), for example the
// main branch's next to this one's:
//   git worktree add --detach /tmp/main-build main && ln -s "$PWD/node_modules" /tmp/main-build/node_modules
//   (cd /tmp/main-build && npm run build) && node bench/crashStart.js --docs 20000 /tmp/main-build .
import { spawn } from 'node:child_process';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const storeOf = async (root) => (await import(pathToFileURL(join(root, 'dist', 'server', 'index.js')).href)).FileServerStore;
const entry = (docId, rev) => ({ kind: 'ot', changes: [{ id: `${docId}-${rev}`, rev, baseRev: rev - 1, ops: [{ op: 'add', path: `/r${rev}`, value: 'x'.repeat(60) }], createdAt: 1, committedAt: 1 }] });

/** The writing child: DOCS docs of two commits, the checkpoint awaited, TAIL more commits, then SIGKILL. */
async function write(root, directory, docs, tail) {
  const FileServerStore = await storeOf(root);
  const store = new FileServerStore({ directory });
  await store.open();
  const heads = new Map();
  const commit = async (docId) => {
    const rev = (heads.get(docId) ?? 0) + 1;
    await store.append(docId, entry(docId, rev));
    heads.set(docId, rev);
  };
  for (let i = 0; i < docs; i += 50) {
    const batch = Array.from({ length: Math.min(50, docs - i) }, (_, k) => `doc-${i + k}`);
    await Promise.all(batch.map(commit));
    await Promise.all(batch.map(commit));
  }
  await store.checkpointed();
  const picked = new Set();
  while (picked.size < Math.min(tail, docs)) picked.add(`doc-${Math.floor(Math.random() * docs)}`);
  await Promise.all([...picked].map(commit));
  process.kill(process.pid, 'SIGKILL');
}

/** The starting child: times `open()` on what the writer left, and counts its syncs. */
async function start(root, directory) {
  const syncs = { files: 0, directories: 0 };
  const realDatasync = fs.fdatasync;
  const realFsync = fs.fsync;
  fs.fdatasync = (fd, callback) => (syncs.files++, realDatasync(fd, callback));
  fs.fsync = (fd, callback) => (syncs.directories++, realFsync(fd, callback));
  syncBuiltinESMExports();
  const FileServerStore = await storeOf(root);
  const store = new FileServerStore({ directory });
  const before = process.hrtime.bigint();
  await store.open();
  const ms = Number(process.hrtime.bigint() - before) / 1e6;
  const counted = { ...syncs };
  await store.close();
  process.stdout.write(JSON.stringify({ ms, ...counted }) + '\n');
}

function child(args) {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [HERE, '--child', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    proc.once('error', fail);
    proc.once('exit', (code, signal) => done({ code, signal, out }));
  });
}

if (process.argv[2] === '--child') {
  const [mode, root, directory, docs, tail] = process.argv.slice(3);
  if (mode === 'write') await write(root, directory, Number(docs), Number(tail));
  else await start(root, directory);
} else {
  const docs = Number(option('--docs', 5_000));
  const tail = Number(option('--tail', 100));
  const rounds = Number(option('--rounds', 3));
  const flags = new Set(['--docs', '--tail', '--rounds']);
  const roots = process.argv.slice(2).filter((arg, i, all) => !flags.has(arg) && !flags.has(all[i - 1]));
  if (roots.length === 0) roots.push('.');
  const rows = [];
  for (let round = 1; round <= rounds; round++) {
    for (const root of roots.map((path) => resolve(path))) {
      const directory = mkdtempSync(join(tmpdir(), 'patches-rx-crashstart-'));
      try {
        const written = await child(['write', root, directory, String(docs), String(tail)]);
        if (written.signal !== 'SIGKILL') throw new Error(`the writer ended with ${written.code ?? written.signal}`);
        const started = await child(['start', root, directory]);
        if (started.code !== 0) throw new Error(`the start ended with ${started.code ?? started.signal}`);
        const { ms, files, directories } = JSON.parse(started.out);
        rows.push({ round, root, docs, tail, 'open ms': ms.toFixed(0), 'file syncs': files, 'directory syncs': directories, load: loadavg()[0].toFixed(2) });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    }
  }
  console.table(rows);
}
