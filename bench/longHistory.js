// A document with a long history, opened again: the first commit after a server process loads
// it (a restart, or the doc evicted from its cache), and the heap the loaded doc then holds.
// A commit must recognise a change resent after a lost answer however old it is (its id); the
// server keeps the ids it knows in memory. With the file store it reads the ids of the whole log
// once per load; PostgreSQL's unique key on (doc, change id) refuses a known id instead, so the
// server keeps only the ids since the latest snapshot and reads no history.
//
//   npm run build && node --expose-gc bench/longHistory.js    # HISTORY=50000 changes (default)
//
// PostgreSQL: a throwaway local cluster (Debian's binaries, as bench/pgServer.js), or DATABASE_URL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServerStore, PostgresServerStore, startServer } from '../dist/server/index.js';
import { throwawayCluster } from './pgServer.js';
import { rpcClient } from './rpcClient.js';
import { now } from './waits.js';
import { runWhenStarted } from './runWhenStarted.js';

const HISTORY = Number(process.env.HISTORY ?? 50_000);
const BATCH = 100;
/** Commits after the load, past the next snapshot (every 200 changes): what a long-running process has seen. */
const AFTER = 250;

const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};
const heapMB = () => {
  gc();
  return process.memoryUsage().heapUsed / 1e6;
};
const change = (id, rev, value) => ({ id, baseRev: rev - 1, rev, ops: [{ op: 'replace', path: '/n', value }], createdAt: 1 });

/** Writes the history through one server, then loads it in a second one on the same store and measures. */
async function measure(makeStore) {
  const docId = `long-${Date.now().toString(36)}`;
  let server = await startServer({ port: 0, store: makeStore() });
  let client = await rpcClient(server.url);
  await client.call('commitChanges', [docId, [change('root', 1, 0)]]);
  let rev = 1;
  for (let i = 0; i < HISTORY - 1; i += BATCH) {
    const size = Math.min(BATCH, HISTORY - 1 - i);
    await client.call('commitChanges', [docId, Array.from({ length: size }, (_, k) => ({ ...change(`h${i + k}-${docId}`, rev + 1 + k, i + k), baseRev: rev }))]);
    rev += size;
  }
  client.close();
  await server.close();

  server = await startServer({ port: 0, store: makeStore() });
  client = await rpcClient(server.url);
  await client.call('getDoc', ['another-doc']);
  const heapBefore = heapMB();
  let start = now();
  await client.call('getDoc', [docId]);
  const loadMs = now() - start;
  const commitMs = [];
  for (let k = 0; k < 3; k++) {
    start = now();
    await client.call('commitChanges', [docId, [change(`new${k}-${docId}`, ++rev, -k)]]);
    commitMs.push(now() - start);
  }
  for (let k = 0; k < AFTER; k++) await client.call('commitChanges', [docId, [change(`more${k}-${docId}`, ++rev, k)]]);
  const heldMB = heapMB() - heapBefore;
  client.close();
  await server.close();
  return { loadMs, firstCommitMs: commitMs[0], nextCommitMs: commitMs[2], heldMB };
}

/**
 * Runs both stores and prints a row each.
 *
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<Array<{ store: string, history: number, loadMs: number, firstCommitMs: number, nextCommitMs: number, heldMB: number }>>}
 */
export async function main(options = {}) {
  const log = options.log ?? console.log;
  const results = [];
  log(`a doc with ${HISTORY.toLocaleString('en-US')} committed changes (snapshot every 200), loaded by a fresh server process`);
  log('store                getDoc ms   first commit ms   third commit ms   heap held after 250 more commits (MB)');
  const row = (store, r) => {
    results.push({ store, history: HISTORY, ...r });
    log(`${store.padEnd(20)} ${r.loadMs.toFixed(1).padStart(9)} ${r.firstCommitMs.toFixed(1).padStart(17)} ${r.nextCommitMs.toFixed(1).padStart(17)} ${r.heldMB.toFixed(2).padStart(20)}`);
  };
  const dir = mkdtempSync(join(tmpdir(), 'patches-rx-history-'));
  try {
    row('FileServerStore', await measure(() => new FileServerStore({ directory: dir })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cluster = process.env.DATABASE_URL ? undefined : await throwawayCluster();
  if (!process.env.DATABASE_URL && !cluster) {
    log("PostgresServerStore: skipped (install Debian's postgresql, set PG_BIN, or set DATABASE_URL)");
    return results;
  }
  try {
    if (cluster) await cluster.createDatabase('history');
    const url = process.env.DATABASE_URL ?? cluster.url('history');
    row('PostgresServerStore', await measure(() => new PostgresServerStore({ connectionString: url })));
  } finally {
    await cluster?.stop();
  }
  return results;
}

runWhenStarted(import.meta.url, main);
