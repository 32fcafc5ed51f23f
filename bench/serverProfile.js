// The reference server's CPU per commit, with the server alone in a child process (the clients
// of bench/server.js run in this one), so a profile or a CPU figure holds the server's work only.
// For each store (memory, then file+fsync): the scenarios of bench/server.js and a fan-out (one
// writer, 50 connections following its doc), and per scenario commits/s and the server process's
// CPU per commit (process.cpuUsage, user + system; a fan-out commit includes its 50 notifications).
//
//   npm run build && node bench/serverProfile.js
//   PROFILE=1 node bench/serverProfile.js     also writes the server's .cpuprofile (node --cpu-prof)
//                                              to PROFILE_DIR (default the temp dir), one per store
// SERVER_STORES=memory runs one store; SERVER_SCENARIOS='100 busy docs' one scenario. Every wait
// is bounded; loopback only. SERVER_SCALE=10 runs 10× the commits (a profile with more samples).
import { answerParent, forkChild } from './childProcess.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { scenario } from './server.js';
import { runWhenStarted } from './runWhenStarted.js';

const WAIT_LIMIT_MS = 120_000;
/** Where PROFILE=1 writes the server's profiles (PROFILE_DIR, default the system's temp dir). */
const PROFILE_DIR = process.env.PROFILE_DIR ?? tmpdir();

function bounded(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`bench: timed out waiting for ${what}`)), WAIT_LIMIT_MS)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** One writer committing to a doc `subscribers` other connections follow: the fan-out of each commit. */
async function fanOut(url, { subscribers, commits }) {
  const followers = await Promise.all(
    Array.from({ length: subscribers }, async () => {
      const socket = new WebSocket(url);
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      const follower = { socket, notifications: 0 };
      const subscribed = new Promise((resolve) => {
        socket.on('message', (data) => {
          const frame = JSON.parse(String(data));
          if (frame.id === 1) resolve();
          else if (frame.method === 'changesCommitted') follower.notifications++;
        });
      });
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: [['fan-out']] }));
      await subscribed;
      return follower;
    }),
  );
  const result = await scenario(url, { clients: 1, perClient: commits, pickDoc: () => 'fan-out' });
  for (const follower of followers) follower.socket.close();
  return result;
}

/** The child: a server on the given store, answering 'cpu' and 'close'. */
async function serve(storeKind, directory) {
  const { startServer, MemoryServerStore, FileServerStore } = await import('../dist/server/index.js');
  const store = storeKind === 'memory' ? new MemoryServerStore() : new FileServerStore({ directory });
  const server = await startServer({ port: 0, store, onError: (error) => console.error('[server profile bench]', error) });
  answerParent({ port: server.port }, { cpu: () => process.cpuUsage() }, () => server.close());
}

async function startChild(storeKind, directory, profile) {
  const execArgv = profile ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `server-${storeKind}-${Date.now()}.cpuprofile`] : [];
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve', storeKind, directory ?? ''], { execArgv });
  return {
    url: `ws://127.0.0.1:${child.ready.port}`,
    cpuMicros: async () => {
      const { user, system } = await child.ask('cpu');
      return user + system;
    },
    close: () => child.close(),
  };
}

/**
 * Runs the scenarios of bench/server.js against a server child per store.
 *
 * @param {{ profile?: boolean, stores?: string[], scenarios?: string[], scale?: number, log?: (line: string) => void }} [options]
 */
export async function main(options = {}) {
  const log = options.log ?? console.log;
  const stores = options.stores ?? ['memory', 'file+fsync'];
  const scale = options.scale ?? 1;
  const all = [
    ['1 doc, 1 client', { clients: 1, perClient: 3000 * scale, pickDoc: () => 'one-doc-a' }],
    ['1 doc, 10 clients', { clients: 10, perClient: 300 * scale, pickDoc: () => 'one-doc-b' }],
    ['100 docs, 10 clients', { clients: 10, perClient: 300 * scale, pickDoc: (client, i) => `doc-${(client * 37 + i * 13) % 100}` }],
    ['100 busy docs', { clients: 100, perClient: 30 * scale, pickDoc: (client) => `busy-${client}` }],
    ['1 doc, 50 subscribers', { subscribers: 50, commits: 1000 * scale }],
  ];
  const wanted = options.scenarios ?? all.map(([name]) => name);
  const results = [];
  log('scenario                 store          commits  commits/s  server µs/commit');
  for (const storeKind of stores) {
    const directory = storeKind === 'memory' ? undefined : mkdtempSync(join(tmpdir(), 'patches-rx-bench-profile-'));
    const server = await startChild(storeKind, directory, options.profile);
    try {
      for (const [name, config] of all.filter(([name]) => wanted.includes(name))) {
        const before = await server.cpuMicros();
        const result = await bounded('subscribers' in config ? fanOut(server.url, config) : scenario(server.url, config), name);
        const cpuPerCommit = ((await server.cpuMicros()) - before) / result.commits;
        const { latencies: _latencies, ...figures } = result;
        results.push({ scenario: name, store: storeKind, ...figures, cpuPerCommit });
        log(`${name.padEnd(24)} ${storeKind.padEnd(12)} ${String(result.commits).padStart(8)} ${result.perSecond.toFixed(0).padStart(10)} ${cpuPerCommit.toFixed(0).padStart(17)}`);
      }
    } finally {
      await server.close();
      if (directory) rmSync(directory, { recursive: true, force: true });
    }
  }
  return results;
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], process.argv[4] || undefined).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  runWhenStarted(import.meta.url, () =>
    main({
      profile: process.env.PROFILE === '1',
      stores: process.env.SERVER_STORES?.split(';'),
      scenarios: process.env.SERVER_SCENARIOS?.split(';'),
      scale: Number(process.env.SERVER_SCALE ?? 1),
    }),
  );
}
