// Issue 15's paced pair (2 clients × 2,000 changes on one doc, "yielding between edits"; an OT
// doc, or LWW with --algorithm lww) against several builds of this package side by side. After
// each change() a client waits until its doc shows nothing pending; a change not saved yet does
// not show, so edits made in quick succession share a commit (~4 per frame here), where
// bench/sync.js's paced pair flushes first and sends one change per frame.
// each build runs its own reference server (in-memory or durable store, in a child process) and
// its two clients in a process of their own, connected straight to the server. No relay: one in
// the clients' process costs them CPU that is not theirs (bench/sync.js needs it to count bytes).
// Builds are alternated; each client process makes WARMUP runs (V8 compiling) then --runs measured
// ones (default 3); the table gives every measured run and the median per build, and the ratio to the first.
//
// Run: npm run build && node bench/pacedBuilds.js [--store memory|file] [--algorithm ot|lww] [--rounds N] [--runs N] [root …]
// A root is a checkout of patches-rx with its dist/ built (default: this one). The build before
// the performance work, for example:
//   git worktree add /tmp/baseline 53dd0b7 && ln -s "$PWD/node_modules" /tmp/baseline/node_modules
//   (cd /tmp/baseline && npx tsc -p tsconfig.build.json)
//   node bench/pacedBuilds.js /tmp/baseline .
// PROFILE_DIR=<dir> also writes a .cpuprofile of every client process and server child there
// (node --cpu-prof), so where a build's paced time goes can be read per process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { answerParent, forkChild } from './childProcess.js';
import { edit, seed } from './pairEdit.js';
import { median, until } from './waits.js';

const CHANGES_PER_CLIENT = 2_000;
const WARMUP = 2;
const HERE = fileURLToPath(import.meta.url);
/** node flags for every child: a CPU profile each when PROFILE_DIR is set. */
const EXEC_ARGV = process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];

const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};

/** A server child: the reference server of the build at `root`. */
async function serve(root, store) {
  const { startServer, MemoryServerStore, FileServerStore } = await import(pathToFileURL(join(root, 'dist/server/index.js')).href);
  const directory = store === 'file' ? mkdtempSync(join(tmpdir(), 'paced-builds-')) : undefined;
  const server = await startServer({ port: 0, store: directory ? new FileServerStore({ directory }) : new MemoryServerStore() });
  answerParent({ port: server.port }, {}, async () => {
    await server.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });
}

/** A client process: WARMUP + RUNS paced pair runs of the build at `root`; answers the measured ones. */
async function measure(root, store, runCount, algorithm) {
  const RUNS = Number(runCount);
  const { Patches, InMemoryStore } = await import(pathToFileURL(join(root, 'dist/index.js')).href);
  const { PatchesSync } = await import(pathToFileURL(join(root, 'dist/net/index.js')).href);
  const { WebSocket } = await import('ws');
  const server = await forkChild(HERE, ['--serve', root, store], { execArgv: EXEC_ARGV });
  const url = `ws://127.0.0.1:${server.ready.port}`;
  const synced = (sync, docId, rev = 0) =>
    until(sync.synced$, all => {
      const entry = all[docId];
      return entry !== undefined && entry.status === 'synced' && !entry.hasPending && entry.committedRev >= rev;
    }, `${docId} synced at rev ${rev}`);
  const client = () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const sync = new PatchesSync(patches, url, { websocket: { WebSocketCtor: WebSocket } });
    return { patches, sync };
  };
  const paced = async (c, doc, docId, who) => {
    for (let i = 0; i < CHANGES_PER_CLIENT; i++) {
      doc.change(edit(algorithm, who, i));
      await synced(c.sync, docId);
    }
    // The last edit may not be saved yet (nothing pending shows until it is): the LWW head below
    // must not be read before it is, or the states are compared while it is on its way.
    await doc.flush();
  };
  const runs = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    // The reference server routes ids starting `lww-` to LWW (its default `algorithmFor`).
    const docId = `${algorithm === 'lww' ? 'lww-' : ''}pair-${run}`;
    const [a, b] = [client(), client()];
    await Promise.all([a.sync.connect(), b.sync.connect()]);
    const docA = await a.patches.openDoc(docId, { algorithm });
    docA.change(seed(algorithm));
    await synced(a.sync, docId, 1);
    const docB = await b.patches.openDoc(docId, { algorithm });
    await synced(b.sync, docId, 1);
    const start = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all([paced(a, docA, docId, 'a'), paced(b, docB, docId, 'b')]);
    // OT: every change is one rev. LWW: once nothing is pending on either side, the later of their
    // acknowledged revs is the head (a change that writes nothing new takes none).
    let head = 2 * CHANGES_PER_CLIENT + 1;
    if (algorithm === 'lww') {
      await Promise.all([synced(a.sync, docId), synced(b.sync, docId)]);
      head = Math.max(a.sync.synced[docId].committedRev, b.sync.synced[docId].committedRev);
    }
    await Promise.all([synced(a.sync, docId, head), synced(b.sync, docId, head)]);
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    // Compared as values: two LWW clients may hold the same keys in another order.
    if (!isDeepStrictEqual(docA.state, docB.state)) throw new Error('bench: the clients did not converge');
    if (run >= WARMUP) runs.push({ ms, cpuMicrosPerChange: (used.user + used.system) / (2 * CHANGES_PER_CLIENT) });
    a.sync.destroy();
    b.sync.destroy();
  }
  await server.close();
  answerParent({ runs });
}

async function main() {
  const store = option('--store', 'memory');
  const algorithm = option('--algorithm', 'ot');
  const rounds = Number(option('--rounds', 3));
  const runs = Number(option('--runs', 3));
  const roots = process.argv.slice(2).filter((arg, i, all) => !arg.startsWith('--') && !all[i - 1]?.startsWith('--')).map(root => resolve(root));
  if (roots.length === 0) roots.push(resolve(HERE, '../..'));
  const results = new Map(roots.map(root => [root, []]));
  for (let round = 0; round < rounds; round++) {
    for (const root of roots) {
      const child = await forkChild(HERE, ['--measure', root, store, String(runs), algorithm], { execArgv: EXEC_ARGV, waitLimitMs: 600_000 });
      results.get(root).push(...child.ready.runs);
      await child.close();
    }
  }
  console.log(`Paced ${algorithm.toUpperCase()} pair, 2 × ${CHANGES_PER_CLIENT} changes, clients straight to each build's own server (${store} store); ${rounds} rounds × ${runs} runs after ${WARMUP} warm-up runs per process`);
  const first = median(results.get(roots[0]).map(r => r.ms));
  console.table(
    roots.map(root => {
      const measured = results.get(root);
      const ms = median(measured.map(r => r.ms));
      return {
        build: root,
        'runs (ms)': measured.map(r => Math.round(r.ms)).join(' / '),
        'median (ms)': Math.round(ms),
        'client CPU (µs/change)': Math.round(median(measured.map(r => r.cpuMicrosPerChange))),
        'vs first': `${(ms / first).toFixed(2)}×`,
      };
    }),
  );
}

if (process.argv[2] === '--serve') await serve(process.argv[3], process.argv[4]);
else if (process.argv[2] === '--measure') await measure(process.argv[3], process.argv[4], process.argv[5], process.argv[6] ?? 'ot');
else await main();
