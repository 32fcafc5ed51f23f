// What permessage-deflate settings cost and save on the reference server (issue 15's wire target
// in paced mode: each change one small request, one small reply and one small broadcast).
// For each setting, a server in a child process (--expose-gc) and:
//  - paced sync: 2 clients × PACED_CHANGES changes each on one OT doc, then on one LWW doc, each
//    change sent after the previous one is committed (Patches + PatchesSync over `ws`, as an app
//    in Node connects), and the OT run again in one burst: bytes on the wire per change (both
//    directions, WebSocket framing included, through a byte-counting loopback proxy) and the
//    server's CPU per change (process.cpuUsage of the server process around the run: user +
//    system, all its work, zlib's thread pool included);
//  - small commits: THROUGHPUT_CLIENTS raw clients committing ~200 B changes one after another
//    (compact acks): commits/s and server CPU per commit;
//  - active connections: ACTIVE_CONNECTIONS raw `ws` clients (offering permessage-deflate as our
//    Node client and browsers do) connect (idle: nothing sent), then each commits ACTIVE_COMMITS
//    changes of ~4.4 KB to its own doc (≥ 4 KB, so every setting that compresses at all does,
//    and ~44 KB pass each way: zlib's windows are filled, as on a long-lived connection). The
//    server's RSS and heap (after a full gc) per connection, idle and active; the extra of an
//    active connection over the same run with compression off is what its zlib contexts cost.
// Then the handshakes: what our Node client (`ws`), a client offering no client_max_window_bits
// (as Firefox is reported to) and Chromium (/usr/bin/chromium, headless, via playwright-core) offer, and what
// the default and the all-frames server answer them.
// Figures only (nothing is asserted); every wait is bounded; loopback only.
// Run: npm run build && node bench/compression.js   (off, the default and all frames;
// COMPRESSION_SETTINGS=all for every setting below, or 'name;name' to add some;
// COMPRESSION_ROUNDS=3 for the median of alternating rounds; PACED_CHANGES=100 for a quick look)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { InMemoryStore, Patches } from '../dist/index.js';
import { PatchesSync } from '../dist/net/index.js';
import { ALL_FRAMES_PER_MESSAGE_DEFLATE, SERVER_PER_MESSAGE_DEFLATE } from '../dist/server/wireCompression.js';
import { extensionsHeader, startProxy } from './countingProxy.js';
import { now, until } from './waits.js';
import { edit, seed } from './pairEdit.js';
import { answerParent, forkChild } from './childProcess.js';
import { median } from './waits.js';

const PACED_CHANGES = Number(process.env.PACED_CHANGES ?? 500);
const ACTIVE_CONNECTIONS = 400;
const THROUGHPUT_CLIENTS = 10;
const THROUGHPUT_COMMITS = 300;
const ROUNDS = Number(process.env.COMPRESSION_ROUNDS ?? 1);
const ACTIVE_COMMITS = 10;
const WAIT_LIMIT_MS = 60_000;
const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Baseline bytes per paced change (bench/baseline.json, before issue 15's work): the target is ≤ 0.3× of them. */
const BASELINE = { ot: 794.6, lww: 787 };

const plain = { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true, zlibDeflateOptions: { level: 6, memLevel: 8 }, concurrencyLimit: 10 };
/** Context takeover with these windows, 1 KB output chunks (as ALL_FRAMES_PER_MESSAGE_DEFLATE). */
const kept = (bits, memLevel, extra = {}) => ({
  serverMaxWindowBits: bits,
  clientMaxWindowBits: bits,
  zlibDeflateOptions: { level: 6, memLevel, chunkSize: 1024 },
  zlibInflateOptions: { chunkSize: 1024 },
  concurrencyLimit: 10,
  ...extra,
});

/** The settings compared: `null` is the server's default, 'all frames' its opt-in (src/server/wireCompression.ts). */
const SETTINGS = [
  { name: 'off', options: false },
  { name: 'default', options: null },
  { name: 'all frames', options: ALL_FRAMES_PER_MESSAGE_DEFLATE },
  { name: 'default at threshold 1024 (before 2026-12-06)', options: { ...SERVER_PER_MESSAGE_DEFLATE, threshold: 1024 } },
  { name: 'threshold 1024, no takeover, window 15 (before)', options: plain },
  { name: 'threshold 256, no takeover', options: { ...plain, threshold: 256 } },
  { name: 'threshold 64, no takeover', options: { ...plain, threshold: 64 } },
  { name: 'threshold 0, no takeover', options: { ...plain, threshold: 0 } },
  { name: 'takeover, window 15, mem 8', options: kept(15, 8) },
  { name: 'takeover, window 12, mem 8', options: kept(12, 8) },
  { name: 'takeover, window 10, mem 8', options: kept(10, 8) },
  { name: 'takeover, window 9, mem 8', options: kept(9, 8) },
  { name: 'takeover, window 12, mem 4', options: kept(12, 4) },
  { name: 'takeover, window 10, mem 4', options: kept(10, 4) },
  { name: 'takeover, window 12, mem 1', options: kept(12, 1) },
  { name: 'takeover, window 12, mem 4, level 1', options: kept(12, 4, { zlibDeflateOptions: { level: 1, memLevel: 4, chunkSize: 1024 } }) },
  { name: 'takeover, window 12, mem 4, chunks 16 KB', options: kept(12, 4, { zlibDeflateOptions: { level: 6, memLevel: 4, chunkSize: 16 * 1024 } }) },
  { name: 'takeover, window 12, mem 4, client window 15', options: kept(12, 4, { clientMaxWindowBits: undefined }) },
  { name: 'takeover, window 12, mem 4, concurrency 1', options: kept(12, 4, { concurrencyLimit: 1 }) },
  { name: 'takeover, window 12, mem 4, concurrency 50', options: kept(12, 4, { concurrencyLimit: 50 }) },
];
/** What `npm run bench` compares (COMPRESSION_SETTINGS=all for every one above). */
const QUICK = ['off', 'default', 'all frames'];

/**
 * What zlib.h says one connection's contexts take: deflate (1 << (windowBits + 2)) + (1 <<
 * (memLevel + 9)) + ~6 KB, inflate (1 << windowBits) + ~7 KB. Node's RSS grows ~3× that for
 * small windows and hardly with memLevel (measured beside it): the RSS figure is the one to plan by.
 */
function zlibKB(options) {
  if (!options) return 0;
  const noTakeover = options.serverNoContextTakeover && options.clientNoContextTakeover;
  const serverBits = options.serverMaxWindowBits ?? 15;
  const clientBits = options.clientMaxWindowBits ?? 15;
  const memLevel = options.zlibDeflateOptions?.memLevel ?? 8;
  const deflate = 2 ** (serverBits + 2) + 2 ** (memLevel + 9) + 6 * 1024;
  const inflate = 2 ** clientBits + 7 * 1024;
  return { deflate: deflate / 1024, inflate: inflate / 1024, resetEachMessage: Boolean(noTakeover) };
}

function bounded(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`bench: timed out waiting for ${what}`)), WAIT_LIMIT_MS)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// ── The server child ────────────────────────────────────────────────────────────────────────

async function serve(optionsJson) {
  const { startServer, MemoryServerStore } = await import('../dist/server/index.js');
  const options = JSON.parse(optionsJson);
  const server = await startServer({
    port: 0,
    store: new MemoryServerStore(),
    ...(options === null ? {} : { compression: options }),
    onError: error => console.error('[compression bench server]', error),
  });
  answerParent(
    { port: server.port },
    {
      cpu: () => process.cpuUsage(),
      memory: () => {
        globalThis.gc();
        globalThis.gc();
        return process.memoryUsage();
      },
    },
    () => server.close(),
  );
}

async function startServerChild(options) {
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve', JSON.stringify(options)], { execArgv: ['--expose-gc'], waitLimitMs: WAIT_LIMIT_MS });
  const { port } = child.ready;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    cpuMicros: async () => {
      const { user, system } = await child.ask('cpu');
      return user + system;
    },
    memory: () => child.ask('memory'),
    close: () => child.close(),
  };
}

// ── Paced sync ──────────────────────────────────────────────────────────────────────────────

function makeClient(url) {
  const patches = new Patches({ store: new InMemoryStore() });
  const sync = new PatchesSync(patches, url, { reconnectDelay: 10, maxReconnectDelay: 50 });
  const errors = [];
  sync.onError(error => errors.push(error));
  return { patches, sync, errors };
}

function synced(client, docId, rev = 0) {
  return until(client.sync.synced$, all => all[docId]?.status === 'synced' && !all[docId].hasPending && all[docId].committedRev >= rev, `${docId} synced`);
}

/** 2 clients × PACED_CHANGES changes on one doc, 'paced' (each after the previous is committed) or in one 'burst'. */
async function pairRun(server, proxy, algorithm, mode, tag) {
  const docId = `${algorithm === 'lww' ? 'lww-' : ''}${mode}-${tag}`;
  const [a, b] = [makeClient(proxy.url), makeClient(proxy.url)];
  try {
    await Promise.all([a.sync.connect(), b.sync.connect()]);
    const docA = await a.patches.openDoc(docId, { algorithm });
    docA.change(seed(algorithm));
    await synced(a, docId, 1);
    const docB = await b.patches.openDoc(docId, { algorithm });
    await synced(b, docId, 1);

    const before = { ...proxy.bytes, cpu: await server.cpuMicros(), at: now() };
    const edits = async (client, doc, who) => {
      for (let i = 0; i < PACED_CHANGES; i++) {
        doc.change(edit(algorithm, who, i));
        if (mode === 'burst') continue;
        await doc.flush();
        await synced(client, docId);
      }
      await doc.flush();
      await synced(client, docId);
    };
    await Promise.all([edits(a, docA, 'a'), edits(b, docB, 'b')]);
    const head = Math.max(docA.committedRev ?? 0, docB.committedRev ?? 0);
    await Promise.all([synced(a, docId, head), synced(b, docId, head)]);
    const changes = 2 * PACED_CHANGES;
    const cpu = (await server.cpuMicros()) - before.cpu;
    const errors = [...a.errors, ...b.errors];
    if (errors.length > 0) throw new Error(`bench: a client reported ${errors[0].name}: ${errors[0].message}`);
    if (JSON.stringify(docA.state) !== JSON.stringify(docB.state)) throw new Error(`bench: the ${algorithm} clients did not converge`);
    return {
      bytesPerChange: (proxy.bytes.toServer - before.toServer + proxy.bytes.toClient - before.toClient) / changes,
      toServerPerChange: (proxy.bytes.toServer - before.toServer) / changes,
      toClientPerChange: (proxy.bytes.toClient - before.toClient) / changes,
      cpuMicrosPerChange: cpu / changes,
      ms: now() - before.at,
    };
  } finally {
    a.sync.destroy();
    b.sync.destroy();
  }
}

// ── Active connections ──────────────────────────────────────────────────────────────────────

async function openRaw(url) {
  const socket = new WebSocket(url);
  await bounded(
    new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    }),
    'a connection to open',
  );
  const waiting = new Map();
  let nextId = 1;
  socket.on('message', data => {
    const frame = JSON.parse(String(data));
    waiting.get(frame.id)?.(frame);
    waiting.delete(frame.id);
  });
  return {
    socket,
    call(method, params) {
      const id = nextId++;
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      return bounded(new Promise(resolve => waiting.set(id, resolve)), method);
    },
  };
}

async function activeConnections(server) {
  const base = await server.memory();
  const clients = [];
  for (let from = 0; from < ACTIVE_CONNECTIONS; from += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, ACTIVE_CONNECTIONS - from) }, () => openRaw(server.url)))));
  }
  const idle = await server.memory();
  const cpuBefore = await server.cpuMicros();
  const start = now();
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; i < ACTIVE_COMMITS; i++) {
        // ~4.4 KB of JSON that does not repeat itself within a message (as real content would not).
        const value = randomBytes(2200).toString('hex');
        const change = { id: `active-${c}-${i}`, baseRev: i, rev: i + 1, ops: [{ op: 'replace', path: '/body', value }], createdAt: Date.now() };
        const reply = await client.call('commitChanges', [`active-${c}`, [change]]);
        if (reply.error) throw new Error(`bench: commit refused: ${reply.error.message}`);
      }
    }),
  );
  const ms = now() - start;
  const cpu = (await server.cpuMicros()) - cpuBefore;
  const active = await server.memory();
  for (const client of clients) client.socket.close();
  const perConnection = (to, from, key) => (to[key] - from[key]) / ACTIVE_CONNECTIONS / 1024;
  return {
    extensions: clients[0].socket.extensions,
    idleRssKB: perConnection(idle, base, 'rss'),
    idleHeapKB: perConnection(idle, base, 'heapUsed') + perConnection(idle, base, 'external'),
    activeRssKB: perConnection(active, idle, 'rss'),
    activeHeapKB: perConnection(active, idle, 'heapUsed') + perConnection(active, idle, 'external'),
    commitsPerSecond: (ACTIVE_CONNECTIONS * ACTIVE_COMMITS) / (ms / 1000),
    cpuMicrosPerCommit: cpu / (ACTIVE_CONNECTIONS * ACTIVE_COMMITS),
  };
}

/** THROUGHPUT_CLIENTS raw clients, each committing small changes (~200 B) one after another to its own doc. */
async function smallCommits(server) {
  const clients = await Promise.all(Array.from({ length: THROUGHPUT_CLIENTS }, () => openRaw(server.url)));
  const cpuBefore = await server.cpuMicros();
  const start = now();
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; i < THROUGHPUT_COMMITS; i++) {
        const change = { id: `small-${c}-${i}`, baseRev: i, rev: i + 1, ops: [{ op: 'replace', path: `/field${i % 20}`, value: i }], createdAt: Date.now() };
        const reply = await client.call('commitChanges', [`small-${c}`, [change], { compactAck: true }]);
        if (reply.error) throw new Error(`bench: commit refused: ${reply.error.message}`);
      }
    }),
  );
  const ms = now() - start;
  const cpu = (await server.cpuMicros()) - cpuBefore;
  for (const client of clients) client.socket.close();
  const commits = THROUGHPUT_CLIENTS * THROUGHPUT_COMMITS;
  return { commitsPerSecond: commits / (ms / 1000), cpuMicrosPerCommit: cpu / commits };
}

// ── Handshakes ──────────────────────────────────────────────────────────────────────────────

/** Opens a WebSocket from the page; resolves with the extensions the browser negotiated. */
function browserExtensions(page, url) {
  return bounded(
    page.evaluate(
      target =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(target);
          socket.onopen = () => {
            resolve(socket.extensions);
            socket.close();
          };
          socket.onerror = () => reject(new Error('the browser could not connect'));
        }),
      url,
    ),
    'Chromium to connect',
  );
}

/** What our Node client, a client offering a bare permessage-deflate and Chromium offer, and what the server answers each. */
async function handshakesWith(label, options, page, version) {
  const server = await startServerChild(options);
  const proxy = await startProxy(server.port);
  const out = [];
  const row = (client, handshake, note = '') => ({ server: label, client, offers: extensionsHeader(handshake.request), accepted: extensionsHeader(handshake.response) + note });
  try {
    const client = makeClient(proxy.url);
    await client.sync.connect();
    client.sync.destroy();
    out.push(row('PatchesSync in Node (ws)', proxy.handshakes[0]));
    const bare = new WebSocket(proxy.url, { perMessageDeflate: { clientMaxWindowBits: false } });
    await bounded(new Promise((resolve, reject) => (bare.once('open', resolve), bare.once('error', reject))), 'a client without client_max_window_bits');
    bare.close();
    out.push(row('ws offering no client_max_window_bits (as Firefox is reported to)', proxy.handshakes[1]));
    if (page) {
      const negotiated = await browserExtensions(page, proxy.url);
      out.push(row(version, proxy.handshakes[2], ` (socket.extensions: ${negotiated})`));
    }
    return out;
  } finally {
    await proxy.close();
    await server.close();
  }
}

async function handshakes() {
  if (!existsSync(CHROMIUM_PATH)) {
    console.log(`${CHROMIUM_PATH} is missing: the browser's handshake is left out`);
    return [...(await handshakesWith('default', null)), ...(await handshakesWith('all frames', ALL_FRAMES_PER_MESSAGE_DEFLATE))];
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'patches-rx-compression-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const version = (await (await context.newCDPSession(page)).send('Browser.getVersion')).product;
    return [...(await handshakesWith('default', null, page, version)), ...(await handshakesWith('all frames', ALL_FRAMES_PER_MESSAGE_DEFLATE, page, version))];
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────

async function measure(setting, round) {
  const server = await startServerChild(setting.options);
  const proxy = await startProxy(server.port);
  const tag = `${setting.name}-${round}`;
  try {
    const ot = await pairRun(server, proxy, 'ot', 'paced', tag);
    const lww = await pairRun(server, proxy, 'lww', 'paced', tag);
    const burst = await pairRun(server, proxy, 'ot', 'burst', tag);
    const small = await smallCommits(server);
    const active = await activeConnections(server);
    return { ot, lww, burst, small, active };
  } finally {
    await proxy.close();
    await server.close();
  }
}

/** The field-by-field median of equally shaped results. */
function medianOf(results) {
  const [first] = results;
  if (typeof first === 'number') return median(results);
  if (typeof first !== 'object' || first === null) return first;
  return Object.fromEntries(Object.keys(first).map(key => [key, medianOf(results.map(r => r[key]))]));
}

export async function main() {
  const wanted = process.env.COMPRESSION_SETTINGS;
  const names = wanted === 'all' ? SETTINGS.map(s => s.name) : wanted ? [...QUICK, ...wanted.split(';')] : QUICK;
  const settings = SETTINGS.filter(s => names.includes(s.name));
  const began = now();
  const runs = Object.fromEntries(settings.map(s => [s.name, []]));
  // Rounds alternate the settings, so a change in the machine's load falls on all of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (const setting of settings) runs[setting.name].push(await measure(setting, round));
  }
  const results = Object.fromEntries(settings.map(s => [s.name, medianOf(runs[s.name])]));
  const off = results.off;
  const n = (value, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const rows = settings.map(({ name, options }) => {
    const r = results[name];
    const zlib = zlibKB(options === null ? SERVER_PER_MESSAGE_DEFLATE : options);
    return {
      setting: name,
      'paced B/change OT, LWW': `${n(r.ot.bytesPerChange)} (${n(r.ot.bytesPerChange / BASELINE.ot, 2)}×), ${n(r.lww.bytesPerChange)} (${n(r.lww.bytesPerChange / BASELINE.lww, 2)}×)`,
      'OT to server / to client': `${n(r.ot.toServerPerChange)} / ${n(r.ot.toClientPerChange)}`,
      'burst B/change OT': n(r.burst.bytesPerChange),
      'paced ms OT, LWW': `${n(r.ot.ms)}, ${n(r.lww.ms)}`,
      'server µs CPU per paced change OT, LWW': `${n(r.ot.cpuMicrosPerChange)}, ${n(r.lww.cpuMicrosPerChange)}`,
      'small commits/s, µs CPU each': `${n(r.small.commitsPerSecond)}, ${n(r.small.cpuMicrosPerCommit)}`,
      'KB per active conn over off: RSS, heap': `${n(r.active.activeRssKB - off.active.activeRssKB)}, ${n(r.active.activeHeapKB - off.active.activeHeapKB)}`,
      'zlib.h KB (deflate + inflate)': zlib ? `${n(zlib.deflate + zlib.inflate)}${zlib.resetEachMessage ? ' once used' : ''}` : '0',
      'KB per idle conn: RSS, heap': `${n(r.active.idleRssKB, 1)}, ${n(r.active.idleHeapKB, 1)}`,
    };
  });
  const shakes = await handshakes();
  console.log(
    `permessage-deflate settings on the reference server; median of ${ROUNDS} alternating round(s); paced and burst: 2 clients × ${PACED_CHANGES} changes; ` +
      `small commits: ${THROUGHPUT_CLIENTS} clients × ${THROUGHPUT_COMMITS}, compact acks; active: ${ACTIVE_CONNECTIONS} connections × ${ACTIVE_COMMITS} commits of ~4.4 KB; ` +
      `ratios against bench/baseline.json (OT ${BASELINE.ot}, LWW ${BASELINE.lww} B/change); ${n((now() - began) / 1000, 1)} s`,
  );
  console.table(rows);
  console.log('Handshakes (Sec-WebSocket-Extensions):');
  console.table(shakes);
  return { settings: results, handshakes: shakes };
}

if (process.argv.includes('--serve')) await serve(process.argv[process.argv.indexOf('--serve') + 1]);
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
