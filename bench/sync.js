// End-to-end sync figures on loopback, through the reference server:
//  - two clients × 2,000 changes each on one OT doc, then on one LWW doc, made in a burst (all
//    at once) and paced (each after the previous one is committed): ms from the first edit until
//    both clients hold the server's head with nothing pending, bytes on the wire per change
//    (both directions, both clients, WebSocket framing included, as compressed on the socket by
//    permessage-deflate; one more run with clients that do not offer it gives the uncompressed
//    figure beside it), frames sent to the server;
//  - a reconnect of a client tracking 1,000 docs (100 of them changed while it was away): ms
//    from the socket opening until every doc is caught up, and the frames it took each way;
//  - idle client heap per tracked doc with 10,000 docs tracked (and, as a check, connected and
//    synced at 1,000 docs);
//  - one small change on a ~10 MB doc open in two clients: the optimistic local apply, the own
//    commit confirmed, the other client showing it (and the same on a 1 KB doc).
// Each figure is a median over runs (≥ 5). The server runs in a child process, so the heap
// figures are the client's alone; the clients reach it through a byte-counting TCP proxy in
// this process. Everything listens on 127.0.0.1 and the bench stops by itself (every wait is
// bounded; about 1.5 minutes in all). Run: npm run build && node --expose-gc bench/sync.js
// `--only otPaced` runs one scenario (ot, otPaced, lww, lwwPaced, resync, memory, big, small), and
// SYNC_RUNS=n sets the runs per figure: for profiling (`node --cpu-prof bench/sync.js --only otPaced`).
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { of } from 'rxjs';
import { WebSocket } from 'ws';
import { InMemoryStore, Patches } from '../dist/index.js';
import { PatchesSync } from '../dist/net/index.js';
import { startProxy } from './countingProxy.js';
import { answerParent, forkChild } from './childProcess.js';
import { printAgainstBaseline } from './figures.js';
import { median, now, until } from './waits.js';
import { edit, seed } from './pairEdit.js';
import { rpcClient } from './rpcClient.js';

const CHANGES_PER_CLIENT = 2_000;
const RESYNC_DOCS = Number(process.env.RESYNC_DOCS ?? 1_000); // RESYNC_DOCS=4000 node --expose-gc bench/sync.js to check scaling
const RESYNC_CHANGED = 100;
const MEMORY_DOCS = 10_000;
const BIG_DOC_RECORDS = 10_000;
const RUNS = Number(process.env.SYNC_RUNS ?? 5);
const LATENCY_RUNS = 11;

// ── Helpers ─────────────────────────────────────────────────────────────────────────────────

/** A garbage collector: `global.gc` under --expose-gc, else one enabled at runtime, else none. */
function findGc() {
  if (typeof globalThis.gc === 'function') return { gc: globalThis.gc, how: '--expose-gc' };
  try {
    setFlagsFromString('--expose-gc');
    return { gc: runInNewContext('gc'), how: 'v8 flag set at runtime' };
  } catch {
    return { gc: () => {}, how: 'none (figure includes garbage: run with node --expose-gc)' };
  }
}

/** Runs `task(i)` for i < count, `width` at a time. */
async function inParallel(count, width, task) {
  for (let from = 0; from < count; from += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - from) }, (_, k) => task(from + k)));
  }
}

function rawChange(id, baseRev, ops) {
  return { id, baseRev, rev: baseRev + 1, ops, createdAt: Date.now(), committedAt: 0 };
}

/** The reference server in a child process; `stats()` reads its counters over IPC. */
async function startServerChild() {
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve']);
  return {
    url: `ws://127.0.0.1:${child.ready.port}`,
    port: child.ready.port,
    stats: () => child.ask('stats'),
    close: () => child.close(),
  };
}

/** The child: a reference server with an in-memory store, answering stats requests. */
async function serve() {
  const { startServer, MemoryServerStore } = await import('../dist/server/index.js');
  const server = await startServer({ port: 0, store: new MemoryServerStore(), maxSubscriptions: 2 * MEMORY_DOCS, onError: error => console.error('[bench server]', error) });
  answerParent({ port: server.port }, { stats: () => server.stats }, () => server.close());
}

/** A client: Patches over an InMemoryStore, synced through the proxy; any error it reports fails the bench. */
function makeClient(url, options = {}) {
  const patches = new Patches({ store: new InMemoryStore() });
  const sync = new PatchesSync(patches, url, { reconnectDelay: 10, maxReconnectDelay: 50, ...options });
  const errors = [];
  sync.onError(error => errors.push(error));
  return {
    patches,
    sync,
    errors,
    check() {
      if (errors.length > 0) throw new Error(`bench: the client reported ${errors[0].name}: ${errors[0].message}`);
    },
    destroy() {
      sync.destroy();
    },
  };
}

/** Resolves when every doc in `docIds` is synced, nothing pending, at `revOf(docId)` or later. */
function allSynced(client, docIds, revOf = () => 0, what = `${docIds.length} docs synced`) {
  return until(
    client.sync.synced$,
    synced =>
      docIds.every(id => {
        const entry = synced[id];
        return entry && entry.status === 'synced' && !entry.hasPending && entry.committedRev >= revOf(id);
      }),
    what,
  );
}

/** The head rev of a doc on the server. */
async function headRev(writer, docId) {
  const envelope = await writer.call('getDoc', [docId]);
  return envelope.changes.reduce((rev, change) => Math.max(rev, change.rev), envelope.rev);
}

// ── Scenarios ───────────────────────────────────────────────────────────────────────────────

/**
 * One client's edits: all at once ('burst': every change() in one synchronous loop, so they go
 * out in as few commits as the batching allows) or one at a time ('paced': each change waits
 * until the previous one is committed, like a user typing).
 */
async function makeEdits(client, doc, docId, algorithm, who, mode) {
  for (let i = 0; i < CHANGES_PER_CLIENT; i++) {
    doc.change(edit(algorithm, who, i));
    if (mode === 'paced') {
      await doc.flush();
      await allSynced(client, [docId]);
    }
  }
  await doc.flush();
}

/** Two clients, 2,000 changes each, on one doc. */
async function pairRun(env, algorithm, mode, run, clientOptions = {}) {
  const docId = `${algorithm === 'lww' ? 'lww-' : ''}pair-${mode}-${run}`;
  const [a, b] = [makeClient(env.proxy.url, clientOptions), makeClient(env.proxy.url, clientOptions)];
  try {
    await Promise.all([a.sync.connect(), b.sync.connect()]);
    const docA = await a.patches.openDoc(docId, { algorithm });
    docA.change(seed(algorithm));
    await allSynced(a, [docId], () => 1);
    const docB = await b.patches.openDoc(docId, { algorithm });
    await allSynced(b, [docId], () => 1);

    const bytes = env.proxy.total;
    const frames = (await env.server.stats()).frames;
    const start = now();
    const cpuBefore = process.cpuUsage();
    await Promise.all([makeEdits(a, docA, docId, algorithm, 'a', mode), makeEdits(b, docB, docId, algorithm, 'b', mode)]);
    const minted = now() - start;
    // Nothing left to send on either side, so the head is final; then both must reach it.
    await Promise.all([allSynced(a, [docId]), allSynced(b, [docId])]);
    const head = await headRev(env.writer, docId);
    await Promise.all([allSynced(a, [docId], () => head), allSynced(b, [docId], () => head)]);
    const ms = now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const wire = env.proxy.total - bytes;
    const sent = (await env.server.stats()).frames - frames;

    a.check();
    b.check();
    if (!isDeepStrictEqual(docA.state, docB.state)) throw new Error(`bench: the ${algorithm} clients did not converge`);
    if (algorithm === 'ot' && (head !== 2 * CHANGES_PER_CLIENT + 1 || docA.state.items.length !== CHANGES_PER_CLIENT)) {
      throw new Error(`bench: expected every OT change committed once (head ${head})`);
    }
    // This process's CPU (both clients and the proxy): what the paced runs are bound by, and less
    // sensitive than wall time to other load on the machine. (A proxy in a process of its own
    // was tried: on 2 cores it made both the time and this process's CPU worse, as each frame
    // then wakes the clients' event loop on its own.)
    const cpuMicrosPerChange = (cpu.user + cpu.system) / (2 * CHANGES_PER_CLIENT);
    return { ms, minted, bytesPerChange: wire / (2 * CHANGES_PER_CLIENT), frames: sent, head, cpuMicrosPerChange };
  } finally {
    a.destroy();
    b.destroy();
  }
}

/** `ws` clients that do not offer permessage-deflate: the bytes the same run costs uncompressed. */
class PlainWebSocket extends WebSocket {
  constructor(url, protocols, options) {
    super(url, protocols, { ...options, perMessageDeflate: false });
  }
}

async function pairFigures(env, algorithm, mode) {
  const runs = [];
  for (let run = 0; run < RUNS; run++) runs.push(await pairRun(env, algorithm, mode, run));
  const plain = await pairRun(env, algorithm, mode, 'plain', { websocket: { WebSocketCtor: PlainWebSocket } });
  return {
    uncompressedBytesPerChange: plain.bytesPerChange,
    uncompressedMs: plain.ms,
    convergeMs: median(runs.map(r => r.ms)),
    runMs: runs.map(r => r.ms),
    mintedMs: median(runs.map(r => r.minted)),
    cpuMicrosPerChange: median(runs.map(r => r.cpuMicrosPerChange)),
    bytesPerChange: median(runs.map(r => r.bytesPerChange)),
    framesToServer: median(runs.map(r => r.frames)),
    headRev: median(runs.map(r => r.head)),
  };
}

/** `ws` clients that count the frames they receive (the server counts those it receives). */
const framesToClient = { count: 0 };
class CountingWebSocket extends WebSocket {
  constructor(url, protocols, options) {
    super(url, protocols, options);
    this.on('message', () => framesToClient.count++);
  }
}

/** A client tracking 1,000 synced docs loses its connection; 100 docs change meanwhile; it reconnects. */
async function resyncFigures(env) {
  const ids = Array.from({ length: RESYNC_DOCS }, (_, i) => `resync-${i}`);
  const revs = new Map(ids.map(id => [id, 1]));
  await inParallel(RESYNC_DOCS, 100, i => env.writer.call('commitChanges', [ids[i], [rawChange(`r${i}-1`, 0, [{ op: 'replace', path: '/title', value: `Doc ${i}` }])]]));
  const client = makeClient(env.proxy.url, { websocket: { WebSocketCtor: CountingWebSocket } });
  try {
    await client.sync.connect();
    await client.patches.trackDocs(ids);
    await allSynced(client, ids, id => revs.get(id));

    const runs = [];
    for (let run = 0; run < RUNS; run++) {
      env.proxy.refuse = true;
      env.proxy.dropAll();
      await until(client.sync.state$, s => !s.connected, 'the disconnect');
      const changed = ids.slice(run * RESYNC_CHANGED, (run + 1) * RESYNC_CHANGED);
      await Promise.all(
        changed.map(id => {
          const rev = revs.get(id);
          revs.set(id, rev + 1);
          return env.writer.call('commitChanges', [id, [rawChange(`${id}-${rev + 1}`, rev, [{ op: 'replace', path: '/title', value: `changed in run ${run}` }])]]);
        }),
      );
      const frames = (await env.server.stats()).frames;
      const received = framesToClient.count;
      const opened = until(client.sync.state$, s => s.connected, 'the reconnect').then(() => now());
      env.proxy.refuse = false;
      const start = await opened;
      await Promise.all([allSynced(client, ids, id => revs.get(id), 'every doc caught up'), until(client.sync.state$, s => s.connected && s.syncing === null, 'the pass to end')]);
      runs.push({ ms: now() - start, frames: (await env.server.stats()).frames - frames, framesToClient: framesToClient.count - received });
    }
    client.check();
    return { resyncMs: median(runs.map(r => r.ms)), frames: median(runs.map(r => r.frames)), framesToClient: median(runs.map(r => r.framesToClient)) };
  } finally {
    client.destroy();
  }
}

/**
 * Client heap per tracked doc at 10,000 docs: tracked by a PatchesSync that is offline (so it
 * holds a status entry per doc), each doc's store record as a getDoc install leaves it (a small
 * state at rev 1). Offline because a connected full pass over 10,000 docs currently takes
 * minutes (SyncedDocs copies the whole status map on every per-doc update, so a pass is
 * O(docs²)); the memory at rest is the same. `connected1k` checks it against a connected client
 * that synced 1,000 such docs from the server. Each measurement runs in its own function call,
 * so nothing of the previous run is still referenced when the baseline is taken.
 */
async function memoryFigures(env) {
  const { gc, how } = findGc();
  const state = i => ({ title: `Document ${i}`, done: i % 2 === 0, tags: ['work', 'draft'], n: i });
  const ids = Array.from({ length: MEMORY_DOCS }, (_, i) => `mem-${i}`);

  const offline = async () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const store = new InMemoryStore();
    const patches = new Patches({ store });
    const sync = new PatchesSync(patches, env.proxy.url, { online$: of(false) });
    const entries = until(sync.synced$, synced => Object.keys(synced).length === MEMORY_DOCS, 'the status entries');
    await patches.trackDocs(ids);
    await entries;
    for (const [i, id] of ids.entries()) await store.saveDoc(id, { state: state(i), rev: 1 });
    gc();
    const perDoc = (process.memoryUsage().heapUsed - before) / MEMORY_DOCS;
    sync.destroy();
    await patches.close();
    return perDoc;
  };

  const small = ids.slice(0, RESYNC_DOCS);
  await inParallel(RESYNC_DOCS, 100, i => env.writer.call('commitChanges', [small[i], [rawChange(`m${i}`, 0, [{ op: 'replace', path: '', value: state(i) }])]]));
  const connected = async () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const client = makeClient(env.proxy.url);
    await client.patches.trackDocs(small);
    await client.sync.connect();
    await until(client.sync.state$, s => s.connected && s.syncing === null, 'the pass to end');
    gc();
    const perDoc = (process.memoryUsage().heapUsed - before) / RESYNC_DOCS;
    if (!small.every(id => client.sync.synced[id]?.committedRev === 1)) throw new Error('bench: the 1,000 docs did not sync');
    client.check();
    client.destroy();
    await client.patches.close();
    return perDoc;
  };

  const runs = [];
  const connectedRuns = [];
  for (let run = 0; run < RUNS; run++) {
    runs.push(await offline());
    connectedRuns.push(await connected());
  }
  return { bytesPerDoc: median(runs), connected1k: median(connectedRuns), gc: how };
}

/** One small change on a doc of `records` 1 KB records (~10 MB for 10,000), open in two clients. */
async function docLatencyFigures(env, docId, records) {
  const record = i => ({ id: `r${i}`, title: `Record ${i}`, n: 0, body: 'x'.repeat(960) });
  await env.writer.call('commitChanges', [docId, [rawChange(`${docId}-0`, 0, [{ op: 'replace', path: '/records', value: [] }])]]);
  // Written in commits under the server's 1 MB change limit.
  for (let from = 0, rev = 1; from < records; from += 500, rev++) {
    const ops = Array.from({ length: Math.min(500, records - from) }, (_, k) => ({ op: 'add', path: '/records/-', value: record(from + k) }));
    await env.writer.call('commitChanges', [docId, [rawChange(`${docId}-${rev}`, rev - 1, ops)]]);
  }
  const [a, b] = [makeClient(env.proxy.url), makeClient(env.proxy.url)];
  try {
    await Promise.all([a.sync.connect(), b.sync.connect()]);
    const [docA, docB] = await Promise.all([a.patches.openDoc(docId), b.patches.openDoc(docId)]);
    const head = await headRev(env.writer, docId);
    await Promise.all([allSynced(a, [docId], () => head), allSynced(b, [docId], () => head)]);
    const megabytes = Buffer.byteLength(JSON.stringify(docA.state)) / 1e6;

    const runs = [];
    for (let run = 0; run < LATENCY_RUNS; run++) {
      const index = (run * 997) % records;
      const value = run + 1;
      const seen = until(docB.state$, s => s.records[index].n === value, 'the other client to show the change').then(() => now());
      const confirmed = allSynced(a, [docId], () => head + run + 1).then(() => now());
      const start = now();
      docA.change(draft => {
        draft.records[index].n = value;
      });
      const local = now() - start;
      const [confirmedAt, seenAt] = await Promise.all([confirmed, seen]);
      runs.push({ local, confirmed: confirmedAt - start, seen: seenAt - start });
    }
    a.check();
    b.check();
    if (!isDeepStrictEqual(docA.state, docB.state)) throw new Error(`bench: ${docId} did not converge`);
    return {
      megabytes,
      localMs: median(runs.map(r => r.local)),
      confirmedMs: median(runs.map(r => r.confirmed)),
      seenMs: median(runs.map(r => r.seen)),
    };
  } finally {
    a.destroy();
    b.destroy();
  }
}

// ── Main ────────────────────────────────────────────────────────────────────────────────────

export async function main() {
  const server = await startServerChild();
  const proxy = await startProxy(server.port);
  // Straight to the server, not through the proxy: the bench's own writer.
  const writer = await rpcClient(server.url);
  const env = { server, proxy, writer };
  const began = now();
  try {
    const seconds = {};
    const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
    const timed = async (name, scenario) => {
      if (only && only !== name) return undefined;
      const start = now();
      const figures = await scenario();
      seconds[name] = Math.round(now() - start) / 1000;
      return figures;
    };
    const ot = await timed('ot', () => pairFigures(env, 'ot', 'burst'));
    const otPaced = await timed('otPaced', () => pairFigures(env, 'ot', 'paced'));
    const lww = await timed('lww', () => pairFigures(env, 'lww', 'burst'));
    const lwwPaced = await timed('lwwPaced', () => pairFigures(env, 'lww', 'paced'));
    const resync = await timed('resync', () => resyncFigures(env));
    const memory = await timed('memory', () => memoryFigures(env));
    const big = await timed('big', () => docLatencyFigures(env, 'big', BIG_DOC_RECORDS));
    const small = await timed('small', () => docLatencyFigures(env, 'small', 1));

    const n = (value, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const pair = f =>
      `${n(f.bytesPerChange)} B/change on the wire (${n(f.bytesPerChange / f.uncompressedBytesPerChange, 2)}× of ${n(f.uncompressedBytesPerChange)} uncompressed; one uncompressed run took ${n(f.uncompressedMs)} ms), ${n(f.framesToServer)} frames to the server, all changes made after ${n(f.mintedMs)} ms, head rev ${n(f.headRev)}, client process CPU ${n(f.cpuMicrosPerChange)} µs/change; runs in order ${f.runMs.map(ms => n(ms)).join(' / ')} ms (the first ones warm up the JIT of this process and of the server)`;
    const x = `2 clients × ${n(CHANGES_PER_CLIENT)} changes, one`;
    const rows = [
      ot && { scenario: `${x} OT doc, burst`, figure: 'ms until both converge', value: n(ot.convergeMs), detail: pair(ot) },
      otPaced && { scenario: `${x} OT doc, paced`, figure: 'ms until both converge', value: n(otPaced.convergeMs), detail: pair(otPaced) },
      lww && { scenario: `${x} LWW doc, burst`, figure: 'ms until both converge', value: n(lww.convergeMs), detail: pair(lww) },
      lwwPaced && { scenario: `${x} LWW doc, paced`, figure: 'ms until both converge', value: n(lwwPaced.convergeMs), detail: pair(lwwPaced) },
      resync && { scenario: `Reconnect, ${n(RESYNC_DOCS)} tracked docs (${RESYNC_CHANGED} changed)`, figure: 'ms from socket open to all caught up', value: n(resync.resyncMs), detail: `${n(resync.frames)} frames to the server, ${n(resync.framesToClient)} to the client` },
      memory && { scenario: `Idle client, ${n(MEMORY_DOCS)} tracked docs`, figure: 'heap bytes per tracked doc', value: n(memory.bytesPerDoc), detail: `${n(memory.connected1k)} B/doc connected and synced at ${n(RESYNC_DOCS)} docs; gc: ${memory.gc}` },
      big && small && { scenario: `One change on a ${n(big.megabytes, 1)} MB doc`, figure: 'ms until the other client shows it', value: n(big.seenMs, 2), detail: `local apply ${n(big.localMs, 2)} ms, own commit confirmed ${n(big.confirmedMs, 2)} ms; on a ${n(small.megabytes * 1000, 1)} KB doc: ${n(small.seenMs, 2)} ms` },
    ].filter(Boolean);
    console.log(`Sync on loopback (server in a child process, in-memory stores); median of ${RUNS} runs (${LATENCY_RUNS} for one change); ${n((now() - began) / 1000, 1)} s`);
    console.table(rows);
    return { ot, otPaced, lww, lwwPaced, resync, memory, big, small, runs: RUNS, seconds };
  } finally {
    writer.close();
    await proxy.close();
    await server.close();
  }
}

if (process.argv.includes('--serve')) await serve();
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Run on its own, it prints its headline figures beside bench/baseline.json too, as `npm run bench` does.
  const result = await main();
  const baseline = JSON.parse(readFileSync(new URL('./baseline.json', import.meta.url), 'utf8'));
  printAgainstBaseline('sync', result, baseline);
}
