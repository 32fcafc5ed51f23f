// The reference server on PostgreSQL: 1 and 3 real `patches-rx-server` processes on one
// database, clients spread round-robin across them (as behind a load balancer).
//
//   npm run build && node bench/pgServer.js                       # a throwaway local cluster
//   npm run build && DATABASE_URL=postgres://… node bench/pgServer.js   # your database (writes tables!)
//
// The throwaway cluster (Debian's binaries, /usr/lib/postgresql/*/bin or PG_BIN) keeps
// PostgreSQL's durable defaults (fsync, synchronous_commit on), so a commit is acknowledged
// only once it is on disk, as with the file store's fsync.
//
// Scenarios, for 1 and for 3 processes:
//   100 docs, 12 clients   commits to random docs: throughput across docs
//   1 hot doc, 12 clients  every client on the same doc: the cross-process commit lock, read-on and retry
//   broadcast              a commit on one process until a subscriber on another has its changesCommitted
import { execFile, spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { WebSocket } from 'ws';
import { percentile, scenario } from './server.js';
import { runWhenStarted } from './runWhenStarted.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Starts a private cluster on 127.0.0.1 (as the postgres user when root); resolves with its url and a stop function. */
export async function throwawayCluster() {
  const base = '/usr/lib/postgresql';
  const bin =
    process.env.PG_BIN ??
    (existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)).map((v) => join(base, v, 'bin')).find((b) => existsSync(join(b, 'initdb'))) : undefined);
  if (!bin) return undefined;
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'patches-rx-pgbench-'));
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    await chown(dir, uid, gid);
  }
  const pg = (tool, args) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args));
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const data = join(dir, 'data');
  await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-instructions']);
  await pg('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, '-l', join(dir, 'log'), '-w', 'start']);
  return {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    createDatabase: (name) => pg('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]),
    async stop() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement on a connection of its own (to seed tables, or to act on the cluster). */
export async function query(url, text, values = []) {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Starts one server process (of the checkout at `serverRoot`, its dist/ built) and resolves with its url and a stop function. */
export async function serverProcess(databaseUrl, serverRoot = root) {
  const child = spawn(process.execPath, [join(serverRoot, 'bin', 'patches-rx-server.js'), '--port', '0', '--database-url', databaseUrl, '--pool-size', '10'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server process exited (${code})`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** A raw client that subscribes to `docId` and resolves each `changesCommitted` it receives. */
async function subscriber(url, docId) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let waiting;
  let subscribed;
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.id === 1) subscribed?.();
    if (frame.method === 'changesCommitted' && frame.params.docId === docId) waiting?.(performance.now());
  });
  await new Promise((resolve) => {
    subscribed = resolve;
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: [[docId]] }));
  });
  return {
    next: () => new Promise((resolve) => (waiting = resolve)),
    close: () => socket.close(),
  };
}

/** Commit on process A → changesCommitted at a subscriber on process B, `samples` times, one at a time. */
async function broadcast(urls, samples, connect) {
  const docId = 'broadcast-doc';
  const listener = await subscriber(urls[urls.length > 1 ? 1 : 0], docId);
  const writer = await connect(urls[0]);
  const latencies = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const arrived = listener.next();
    await writer.commit(docId);
    latencies.push((await arrived) - started);
  }
  listener.close();
  writer.close();
  latencies.sort((a, b) => a - b);
  return { samples, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * Runs every scenario for 1 and 3 processes and prints one line each.
 *
 * @param {{ commitsPerClient?: number, broadcastSamples?: number, log?: (line: string) => void }} [options]
 */
export async function main(options = {}) {
  const commitsPerClient = options.commitsPerClient ?? 150;
  const broadcastSamples = options.broadcastSamples ?? 300;
  const log = options.log ?? console.log;
  const { connect } = await import('./server.js');
  const cluster = process.env.DATABASE_URL ? undefined : await throwawayCluster();
  if (!process.env.DATABASE_URL && !cluster) {
    log("skipped: no PostgreSQL (install Debian's postgresql, set PG_BIN, or set DATABASE_URL)");
    return null;
  }
  const results = [];
  log(`PostgreSQL: ${cluster ? 'throwaway local cluster, durable defaults (fsync on)' : 'DATABASE_URL'}; clients round-robin over the processes`);
  log('processes  scenario                 commits  commits/s   p50 ms   p99 ms');
  try {
    for (const count of [1, 3]) {
      let databaseUrl = process.env.DATABASE_URL;
      if (cluster) {
        await cluster.createDatabase(`bench_${count}`);
        databaseUrl = cluster.url(`bench_${count}`);
      }
      const processes = [];
      for (let i = 0; i < count; i++) processes.push(await serverProcess(databaseUrl));
      const urls = processes.map((p) => p.url);
      const prefix = `${Date.now().toString(36)}-`;
      try {
        const scenarios = [
          ['100 docs, 12 clients', { pickDoc: (client, i) => `${prefix}doc-${(client * 37 + i * 13) % 100}` }],
          ['1 hot doc, 12 clients', { pickDoc: () => `${prefix}hot` }],
        ];
        for (const [name, { pickDoc }] of scenarios) {
          // scenario() connects every client to one url: run one per process and merge.
          const perProcess = await Promise.all(urls.map((url, p) => scenario(url, { clients: 12 / count, perClient: commitsPerClient, pickDoc: (c, i) => pickDoc(c * count + p, i) })));
          // All commits over the time of the slowest process, percentiles of all latencies together.
          const commits = perProcess.reduce((sum, r) => sum + r.commits, 0);
          const perSecond = commits / Math.max(...perProcess.map((r) => r.seconds));
          const latencies = perProcess.flatMap((r) => r.latencies).sort((a, b) => a - b);
          const p50 = percentile(latencies, 50);
          const p99 = percentile(latencies, 99);
          results.push({ processes: count, scenario: name, commits, perSecond, p50, p99 });
          log(`${String(count).padStart(9)}  ${name.padEnd(24)} ${String(commits).padStart(7)} ${perSecond.toFixed(0).padStart(10)} ${p50.toFixed(2).padStart(8)} ${p99.toFixed(2).padStart(8)}`);
        }
        const b = await broadcast(urls, broadcastSamples, connect);
        const what = count > 1 ? 'broadcast, across processes' : 'broadcast, same process';
        results.push({ processes: count, scenario: what, ...b });
        log(`${String(count).padStart(9)}  ${what.padEnd(28)} ${String(b.samples).padStart(3)} ${''.padStart(10)} ${b.p50.toFixed(2).padStart(8)} ${b.p99.toFixed(2).padStart(8)}`);
      } finally {
        await Promise.all(processes.map((p) => p.stop()));
      }
    }
  } finally {
    await cluster?.stop();
  }
  return results;
}

runWhenStarted(import.meta.url, main);
