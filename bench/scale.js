// Server memory at scale: the reference server (durable FileServerStore in a temp dir, default
// options) holding many idle WebSocket connections, then following many documents.
//  - MB per 1,000 idle connections: connections opened by raw `ws` clients (offering
//    permessage-deflate, as browsers do), nothing sent;
//  - MB per 10,000 tracked docs: those connections then `subscribe` to distinct new documents
//    (10 per connection), so the server loads and follows each one.
// The server and the clients run in two child processes, so the server's figures are its own
// (taken after a full gc, `--expose-gc`): heap (V8 heap + external buffers) and RSS deltas over
// the server at rest. Loopback only; every wait is bounded. Connections need one file descriptor
// each on both sides: with a low `ulimit -n` fewer are opened and the per-1,000 figures are
// scaled from them (printed). Targets (issue 15): 10,000 connections and 100,000 tracked docs.
// Run: npm run build && node bench/scale.js   (SCALE_CONNECTIONS=2000 SCALE_DOCS=20000 for a quick look;
// SCALE_COMPRESSION=all for the server with every frame compressed, whose connections keep zlib contexts;
// SCALE_PROF=<dir> writes a --cpu-prof of the server child there)
import { execSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TARGET_CONNECTIONS = Number(process.env.SCALE_CONNECTIONS ?? 10_000);
const TARGET_DOCS = Number(process.env.SCALE_DOCS ?? 100_000);
/** Connections opened at once (the listen backlog is 511). */
const OPEN_BATCH = 250;
/** File descriptors each process keeps for itself beyond the sockets. */
const SPARE_FDS = 200;
/** No single step may take longer than this; the bench fails instead of hanging. */
const STEP_LIMIT_MS = 180_000;
const MB = 1024 * 1024;

/** The soft limit on open files of this process (children inherit it). */
function openFileLimit() {
  try {
    const limit = execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim();
    return limit === 'unlimited' ? Infinity : Number(limit);
  } catch {
    return 1024;
  }
}

/** Memory of this process after a full gc. */
function memoryNow() {
  globalThis.gc?.();
  globalThis.gc?.();
  const { heapUsed, external, rss } = process.memoryUsage();
  return { heap: heapUsed + external, rss };
}

/** A child process of this file in `role`, answering `ask(type, payload)` with one message each. */
function spawn(role) {
  const child = fork(fileURLToPath(import.meta.url), [role], { execArgv: ['--expose-gc', ...(role === 'server' && process.env.SCALE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SCALE_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let asked = 0;
  return {
    child,
    ask(type, payload = {}) {
      const id = ++asked;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bench: ${role} did not answer ${type} in ${STEP_LIMIT_MS} ms`)), STEP_LIMIT_MS);
        const onMessage = (message) => {
          if (message.id !== id) return;
          child.off('message', onMessage);
          clearTimeout(timer);
          if (message.error) reject(new Error(`bench ${role}: ${message.error}`));
          else resolve(message.value);
        };
        child.on('message', onMessage);
        child.send({ type, id, ...payload });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Serves `handlers[type](message)` over IPC until the parent goes away. */
function answer(handlers) {
  process.on('message', async (message) => {
    try {
      process.send({ id: message.id, value: await handlers[message.type](message) });
    } catch (error) {
      process.send({ id: message.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Child role: the reference server with its default options (SCALE_COMPRESSION=all|off to change its compression) on a durable store. */
async function serverRole() {
  const { startServer, FileServerStore, ALL_FRAMES_PER_MESSAGE_DEFLATE } = await import('../dist/server/index.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'patches-rx-scale-'));
  const store = new FileServerStore({ directory: dataDir });
  const compression = { all: ALL_FRAMES_PER_MESSAGE_DEFLATE, off: false }[process.env.SCALE_COMPRESSION ?? ''];
  const server = await startServer({ port: 0, store, compression, onError: (error) => console.error('[scale server]', error) });
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  answer({
    port: () => server.port,
    memory: () => memoryNow(),
    stats: () => ({ connections: server.stats.connections, subscriptions: server.stats.subscriptions }),
  });
}

/** Child role: raw `ws` clients that connect and later subscribe. */
async function clientsRole() {
  const { WebSocket } = await import('ws');
  const sockets = [];
  answer({
    async open({ url, count }) {
      for (let opened = 0; opened < count; ) {
        const batch = Math.min(OPEN_BATCH, count - opened);
        await Promise.all(
          Array.from({ length: batch }, () => new Promise((resolve, reject) => {
            const socket = new WebSocket(url);
            socket.once('open', () => resolve(sockets.push(socket)));
            socket.once('error', reject);
          })),
        );
        opened += batch;
      }
      return sockets.length;
    },
    async subscribe({ docsPerSocket, sockets: using }) {
      let next = 0;
      await Promise.all(
        sockets.slice(0, using).map((socket, s) => new Promise((resolve, reject) => {
          const ids = Array.from({ length: docsPerSocket }, (_, d) => `scale-${s}-${d}`);
          const id = ++next;
          const onMessage = (data) => {
            const reply = JSON.parse(data.toString());
            if (reply.id !== id) return;
            socket.off('message', onMessage);
            if (reply.error || reply.result?.length !== ids.length) reject(new Error(`subscribe answered ${data}`));
            else resolve();
          };
          socket.on('message', onMessage);
          socket.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'subscribe', params: [ids] }));
        })),
      );
      return using * docsPerSocket;
    },
  });
}

export async function main() {
  const fds = openFileLimit();
  const connections = Math.max(100, Math.min(TARGET_CONNECTIONS, fds - SPARE_FDS));
  const docsPerSocket = Math.max(1, Math.round(TARGET_DOCS / connections));
  const began = Date.now();
  const server = spawn('server');
  const clients = spawn('clients');
  try {
    const port = await server.ask('port');
    const rest = await server.ask('memory');
    const opened = await clients.ask('open', { url: `ws://127.0.0.1:${port}`, count: connections });
    const stats1 = await server.ask('stats');
    if (stats1.connections !== opened) throw new Error(`bench: the server counts ${stats1.connections} connections, ${opened} opened`);
    const withConnections = await server.ask('memory');
    const docs = await clients.ask('subscribe', { docsPerSocket, sockets: connections });
    const stats2 = await server.ask('stats');
    if (stats2.subscriptions !== docs) throw new Error(`bench: the server counts ${stats2.subscriptions} subscriptions, ${docs} made`);
    const withDocs = await server.ask('memory');

    const perConnections = (key) => ((withConnections[key] - rest[key]) / MB / opened) * 1000;
    const perDocs = (key) => ((withDocs[key] - withConnections[key]) / MB / docs) * 10_000;
    const result = {
      connections: opened,
      trackedDocs: docs,
      scaledDown: opened < TARGET_CONNECTIONS ? `ulimit -n ${fds}: ${opened} connections instead of ${TARGET_CONNECTIONS}, figures scaled per 1,000` : undefined,
      heapMBPer1000Connections: perConnections('heap'),
      rssMBPer1000Connections: perConnections('rss'),
      heapMBPer10000Docs: perDocs('heap'),
      rssMBPer10000Docs: perDocs('rss'),
      serverRssMB: withDocs.rss / MB,
      seconds: (Date.now() - began) / 1000,
    };
    const f = (value) => value.toFixed(1);
    console.log(`Server memory at scale (FileServerStore, ${process.env.SCALE_COMPRESSION ? `compression ${process.env.SCALE_COMPRESSION}` : 'default options'}; gc'd; server and clients in separate processes)${result.scaledDown ? `\n  ${result.scaledDown}` : ''}`);
    console.table([
      { held: `${opened.toLocaleString('en-US')} idle connections`, 'heap MB': f(((withConnections.heap - rest.heap) / MB)), 'RSS MB': f((withConnections.rss - rest.rss) / MB), figure: `${f(result.heapMBPer1000Connections)} MB heap / ${f(result.rssMBPer1000Connections)} MB RSS per 1,000 connections` },
      { held: `+ ${docs.toLocaleString('en-US')} tracked docs (${docsPerSocket} per connection)`, 'heap MB': f((withDocs.heap - withConnections.heap) / MB), 'RSS MB': f((withDocs.rss - withConnections.rss) / MB), figure: `${f(result.heapMBPer10000Docs)} MB heap / ${f(result.rssMBPer10000Docs)} MB RSS per 10,000 docs` },
    ]);
    console.log(`  server RSS in all: ${f(result.serverRssMB)} MB (at rest ${f(rest.rss / MB)} MB); ${f(result.seconds)} s`);
    return result;
  } finally {
    await clients.stop();
    await server.stop();
  }
}

const role = process.argv[2];
if (role === 'server') await serverRole();
else if (role === 'clients') await clientsRole();
else if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
