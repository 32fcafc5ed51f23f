// Many documents, one change each (issue 15's per-doc scenarios), on loopback through the
// reference server on its durable store (FileServerStore, fsync on, in a temp dir):
//  - 200 new docs: a connected client opens 200 docs it never had and makes one change in each;
//  - 200 existing docs: the server holds 200 docs (one commit each); a fresh connected client
//    tracks them, opens each and makes one change in each.
// Each figure is ms from the first call until every doc is synced with nothing pending, median
// of RUNS runs (fresh doc ids and a fresh client each run). The server runs in a child process.
// Loopback only; every wait is bounded. Run: npm run build && node bench/docs.js
import { answerParent, forkChild } from './childProcess.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { filter, firstValueFrom, throwError, timeout } from 'rxjs';
import { InMemoryStore, Patches } from '../dist/index.js';
import { PatchesSync } from '../dist/net/index.js';
import { median } from './waits.js';

const DOCS = Number(process.env.DOCS ?? 200); // DOCS=1000 node bench/docs.js to check scaling
const RUNS = 5;
const WAIT_LIMIT_MS = 60_000;

/** Resolves when every doc in `ids` is synced at `rev` or later with nothing pending; fails after WAIT_LIMIT_MS. */
function allSynced(sync, ids, rev) {
  return firstValueFrom(
    sync.synced$.pipe(
      filter(synced => ids.every(id => synced[id]?.status === 'synced' && !synced[id].hasPending && synced[id].committedRev >= rev)),
      timeout({ first: WAIT_LIMIT_MS, with: () => throwError(() => new Error(`bench: ${ids.length} docs not synced at rev ${rev}`)) }),
    ),
  );
}

/** A connected client; any error it reports fails the bench. */
async function connectedClient(url) {
  const patches = new Patches({ store: new InMemoryStore() });
  const sync = new PatchesSync(patches, url);
  const errors = [];
  sync.onError(error => errors.push(error));
  await sync.connect();
  return {
    patches,
    sync,
    done() {
      sync.destroy();
      if (errors.length > 0) throw new Error(`bench: the client reported ${errors[0].name}: ${errors[0].message}`);
    },
  };
}

/** 200 docs the client never had: open, one change each. */
async function newDocsRun(url, run) {
  const ids = Array.from({ length: DOCS }, (_, i) => `new-${run}-${i}`);
  const client = await connectedClient(url);
  const start = performance.now();
  for (const id of ids) {
    const doc = await client.patches.openDoc(id);
    doc.change(draft => {
      draft.title = `Doc ${id}`;
    });
  }
  await allSynced(client.sync, ids, 1);
  const ms = performance.now() - start;
  client.done();
  return ms;
}

/** 200 docs already on the server: a fresh client tracks them, opens each and changes it once. */
async function existingDocsRun(url, run) {
  const ids = Array.from({ length: DOCS }, (_, i) => `existing-${run}-${i}`);
  const writer = await connectedClient(url);
  for (const id of ids) {
    const doc = await writer.patches.openDoc(id);
    doc.change(draft => {
      draft.title = `Doc ${id}`;
      draft.items = [{ text: 'one' }, { text: 'two' }];
    });
  }
  await allSynced(writer.sync, ids, 1);
  writer.done();

  const client = await connectedClient(url);
  const start = performance.now();
  await client.patches.trackDocs(ids);
  for (const id of ids) {
    const doc = await client.patches.openDoc(id);
    doc.change(draft => {
      draft.title = `Changed ${id}`;
    });
  }
  await allSynced(client.sync, ids, 2);
  const ms = performance.now() - start;
  client.done();
  return ms;
}

/** The child: the reference server on a durable store in a temp dir. */
async function serve() {
  const { startServer, FileServerStore } = await import('../dist/server/index.js');
  const directory = mkdtempSync(join(tmpdir(), 'patches-rx-docs-'));
  const server = await startServer({ port: 0, store: new FileServerStore({ directory }), onError: error => console.error('[bench server]', error) });
  answerParent({ port: server.port }, {}, async () => {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });
}

export async function main() {
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve']);
  try {
    const url = `ws://127.0.0.1:${child.ready.port}`;
    await newDocsRun(url, 'warm-up');
    const fresh = [];
    const existing = [];
    for (let run = 0; run < RUNS; run++) {
      fresh.push(await newDocsRun(url, run));
      existing.push(await existingDocsRun(url, run));
    }
    const result = { newDocsMs: median(fresh), existingDocsMs: median(existing), docs: DOCS, runs: RUNS };
    console.log(`Many docs, one change each (durable server store, fsync on; median of ${RUNS} runs)`);
    console.table([
      { scenario: `${DOCS} new docs, one change each`, 'ms until all synced': result.newDocsMs.toFixed(0), 'ms per doc': (result.newDocsMs / DOCS).toFixed(2) },
      { scenario: `${DOCS} existing docs, track + one change each`, 'ms until all synced': result.existingDocsMs.toFixed(0), 'ms per doc': (result.existingDocsMs / DOCS).toFixed(2) },
    ]);
    return result;
  } finally {
    await child.close();
  }
}

if (process.argv[2] === '--serve') await serve();
else if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
