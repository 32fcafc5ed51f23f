// Reference server throughput and latency on loopback: real WebSocket clients sending
// commitChanges frames and waiting for each reply.
//
//   npm run build && node bench/server.js
//
// Scenarios (each with the in-memory store and with the durable file store, fsync on):
//   1 doc, 1 client        sequential commits: the per-commit cost of the whole path
//   1 doc, 10 clients      the same doc from 10 connections: per-doc lock + OT transform
//   100 docs, 10 clients   each client commits to random docs: parallelism across docs
//   100 busy docs          100 clients, each committing to its own doc: the durable figure
//                          group commit is for (many commits waiting on the disk at once)
// and the durable store alone (no server, no sockets): 100 docs appending concurrently, each
// append awaited before the doc's next one (as the server's per-doc lock does).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { FileServerStore, MemoryServerStore, startServer } from '../dist/server/index.js';
import { runWhenStarted } from './runWhenStarted.js';

/** Connects a client that tracks replies by id and the head rev of each doc it touched. */
export async function connect(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const pending = new Map();
  const heads = new Map();
  let nextId = 1;
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.id === undefined) return;
    const resolve = pending.get(frame.id);
    pending.delete(frame.id);
    resolve?.(frame);
  });
  let counter = 0;
  return {
    /** Commits one change to `docId` and resolves with the latency in ms. */
    async commit(docId) {
      const baseRev = heads.get(docId) ?? 0;
      const id = nextId++;
      const change = {
        id: `c${id}-${Math.random().toString(36).slice(2, 10)}`,
        baseRev,
        rev: baseRev + 1,
        ops: [
          { op: '@inc', path: '/count', value: 1 },
          { op: 'replace', path: `/field${counter++ % 20}`, value: counter },
        ],
        createdAt: Date.now(),
        committedAt: 0,
      };
      const started = performance.now();
      const reply = await new Promise((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'commitChanges', params: [docId, [change]] }));
      });
      const elapsed = performance.now() - started;
      if (reply.error) throw new Error(`commit failed: ${JSON.stringify(reply.error)}`);
      const changes = reply.result.changes;
      if (changes.length) heads.set(docId, changes[changes.length - 1].rev);
      return elapsed;
    },
    close() {
      socket.close();
    },
  };
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `clients` connections, each committing `perClient` times to a doc picked by `pickDoc`. */
export async function scenario(url, { clients, perClient, pickDoc }) {
  const connections = await Promise.all(Array.from({ length: clients }, () => connect(url)));
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    connections.map(async (client, index) => {
      for (let i = 0; i < perClient; i++) latencies.push(await client.commit(pickDoc(index, i)));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  connections.forEach((client) => client.close());
  latencies.sort((a, b) => a - b);
  return {
    commits: latencies.length,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    seconds,
    latencies,
  };
}

/** Durable appends per second straight into a FileServerStore: `docs` docs at once, `perDoc` each. */
async function storeAppends({ docs, perDoc }) {
  const directory = await mkdtemp(join(tmpdir(), 'patches-rx-bench-store-'));
  const store = new FileServerStore({ directory });
  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: docs }, async (_, doc) => {
        for (let rev = 1; rev <= perDoc; rev++) {
          const change = { id: `c${doc}-${rev}`, baseRev: rev - 1, rev, ops: [{ op: 'replace', path: '/x', value: rev }], createdAt: 1, committedAt: 2 };
          await store.append(`busy-${doc}`, { kind: 'ot', changes: [change] });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await store.close();
    // Older builds have no journal and no stats: one sync per commit.
    const syncs = store.stats?.syncs ?? docs * perDoc;
    return { commits: docs * perDoc, perSecond: (docs * perDoc) / seconds, commitsPerSync: (docs * perDoc) / syncs };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Runs every scenario against both stores and prints one line each.
 *
 * @param {{ commitsPerClient?: number, busyDocCommits?: number, storeAppendsPerDoc?: number, singleClientCommits?: number, log?: (line: string) => void }} [options]
 * @returns {Promise<Array<{ scenario: string, store: string, commits: number, perSecond: number, p50?: number, p99?: number }>>}
 */
export async function main(options = {}) {
  const singleClientCommits = options.singleClientCommits ?? 3000;
  const commitsPerClient = options.commitsPerClient ?? 300;
  const busyDocCommits = options.busyDocCommits ?? 30;
  const log = options.log ?? console.log;
  const results = [];
  log('scenario                 store          commits  commits/s   p50 ms   p99 ms');
  for (const storeKind of ['memory', 'file+fsync']) {
    const directory = storeKind === 'memory' ? undefined : await mkdtemp(join(tmpdir(), 'patches-rx-bench-'));
    const store = directory ? new FileServerStore({ directory }) : new MemoryServerStore();
    const server = await startServer({ port: 0, store });
    try {
      const scenarios = [
        ['1 doc, 1 client', { clients: 1, perClient: singleClientCommits, pickDoc: () => 'one-doc-a' }],
        ['1 doc, 10 clients', { clients: 10, perClient: commitsPerClient, pickDoc: () => 'one-doc-b' }],
        ['100 docs, 10 clients', { clients: 10, perClient: commitsPerClient, pickDoc: (client, i) => `doc-${(client * 37 + i * 13) % 100}` }],
        ['100 busy docs', { clients: 100, perClient: busyDocCommits, pickDoc: (client) => `busy-${client}` }],
      ];
      for (const [name, config] of scenarios) {
        const { latencies: _latencies, ...result } = await scenario(server.url, config);
        results.push({ scenario: name, store: storeKind, ...result });
        log(
          `${name.padEnd(24)} ${storeKind.padEnd(12)} ${String(result.commits).padStart(8)} ${result.perSecond.toFixed(0).padStart(10)} ${result.p50
            .toFixed(2)
            .padStart(8)} ${result.p99.toFixed(2).padStart(8)}`,
        );
      }
    } finally {
      await server.close();
      if (directory) await rm(directory, { recursive: true, force: true });
    }
  }
  const appends = await storeAppends({ docs: 100, perDoc: options.storeAppendsPerDoc ?? 50 });
  results.push({ scenario: 'store only, 100 docs', store: 'file+fsync', ...appends });
  log(`${'store only, 100 docs'.padEnd(24)} ${'file+fsync'.padEnd(12)} ${String(appends.commits).padStart(8)} ${appends.perSecond.toFixed(0).padStart(10)}   ${appends.commitsPerSync.toFixed(1)} commits per journal sync`);
  return results;
}

runWhenStarted(import.meta.url, main);
