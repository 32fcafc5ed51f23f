// Time to recover from a connection that dies silently, with the default liveness thresholds
// (busy: probe after 5 s of silence, dead 5 s later; idle: probe after 35 s, dead 5 s later) and
// the default reconnect backoff (1 s, jittered down by up to 20 %):
//  - busy: client A's link becomes a black hole (bytes stop both ways, sockets stay open), then A
//    edits: ms until client B shows A's edit and A has nothing pending;
//  - idle: A's link becomes a black hole while idle, then B edits: ms until A shows B's edit;
//  - noisy: the link is cut with a close (for comparison): ms until B shows A's next edit.
// The server runs in this process; A reaches it through a loopback TCP proxy that can black-hole,
// B directly. Every wait is bounded (the bench fails instead of hanging); about 1 minute in all.
// Run: npm run build && node bench/liveness.js
import { createServer, connect as tcpConnect } from 'node:net';
import { pathToFileURL } from 'node:url';
import { InMemoryStore, Patches } from '../dist/index.js';
import { PatchesSync } from '../dist/net/index.js';
import { MemoryServerStore, startServer } from '../dist/server/index.js';
import { now, until } from './waits.js';

/** A loopback TCP proxy whose open connections can be made a black hole (as spec/helpers/chaosProxy.ts). */
async function startBlackHoleProxy(targetPort) {
  const pairs = new Set();
  const server = createServer(client => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    const pair = { client, upstream, hole: false };
    pairs.add(pair);
    client.on('data', chunk => pair.hole || upstream.write(chunk));
    upstream.on('data', chunk => pair.hole || client.write(chunk));
    for (const socket of [client, upstream]) {
      socket.on('error', () => {});
      socket.on('close', () => {
        if (pair.hole) return socket.destroy();
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    blackHole() {
      for (const pair of pairs) pair.hole = true;
    },
    dropAll() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.destroy();
        pair.upstream.destroy();
      }
    },
    close() {
      this.dropAll();
      return new Promise(resolve => server.close(resolve));
    },
  };
}

async function client(url) {
  const patches = new Patches({ store: new InMemoryStore() });
  const sync = new PatchesSync(patches, url);
  const errors = [];
  sync.onError(error => errors.push(error));
  await sync.connect();
  return { patches, sync, errors };
}

const synced = (sync, docId, rev) =>
  until(sync.synced$, s => s[docId]?.status === 'synced' && !s[docId].hasPending && s[docId].committedRev >= rev, `${docId} synced at rev ${rev}`);

/** One scenario on a fresh server, proxy and pair of clients; returns ms to recover. */
async function scenario(name, fault) {
  const server = await startServer({ port: 0, store: new MemoryServerStore() });
  const proxy = await startBlackHoleProxy(server.port);
  const a = await client(proxy.url);
  const b = await client(server.url);
  try {
    const docA = await a.patches.openDoc(name);
    docA.change(draft => {
      draft.lines = ['start'];
    });
    await synced(a.sync, name, 1);
    const docB = await b.patches.openDoc(name);
    await synced(b.sync, name, 1);
    const started = now();
    await fault(proxy, docA, docB);
    await until(docA.state$, s => s.lines.length === 2, 'A to show the edit');
    await until(docB.state$, s => s.lines.length === 2, 'B to show the edit');
    await synced(a.sync, name, 2);
    const ms = now() - started;
    if (a.errors.length + b.errors.length > 0) throw new Error(`bench: unexpected errors ${[...a.errors, ...b.errors].join('; ')}`);
    return ms;
  } finally {
    a.sync.destroy();
    b.sync.destroy();
    await proxy.close();
    await server.close();
  }
}

export async function main() {
  const edit = doc =>
    doc.change(draft => {
      draft.lines.push('edit');
    });
  const busy = await scenario('busy', (proxy, docA) => {
    proxy.blackHole();
    edit(docA);
  });
  const idle = await scenario('idle', (proxy, _docA, docB) => {
    proxy.blackHole();
    edit(docB);
  });
  const noisy = await scenario('noisy', (proxy, docA) => {
    proxy.dropAll();
    edit(docA);
  });
  const rows = [
    { scenario: 'busy: black hole, then A edits', 'ms to recover': Math.round(busy), expected: '≤ 10 s detection + ≤ 1 s backoff' },
    { scenario: 'idle: black hole, then B edits', 'ms to recover': Math.round(idle), expected: '≤ 40 s detection + ≤ 1 s backoff' },
    { scenario: 'noisy: connection closed, A edits', 'ms to recover': Math.round(noisy), expected: '≤ 1 s backoff' },
  ];
  console.table(rows);
  return { busyRecoverMs: busy, idleRecoverMs: idle, noisyRecoverMs: noisy };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
