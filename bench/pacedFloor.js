// The floor under bench/sync.js's paced rows: the same 2 clients × 2,000 OT changes, each sent
// after the previous one is committed, through the same byte-counting relay to the same reference
// server in a child process, but by bare JSON-RPC clients (`ws`, a JSON.stringify per request,
// nothing stored, nothing applied). Whatever a client library does, a paced change cannot take
// less than this round trip; the library's own cost is the paced figure minus this one. It also
// times the clients in this process against the server directly (no relay).
// Alternating runs (PACED_FLOOR_ROUNDS, default 3), median; every wait is bounded; loopback only.
// Run: npm run build && node bench/pacedFloor.js
import { answerParent, forkChild } from './childProcess.js';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startProxy } from './countingProxy.js';
import { median } from './waits.js';
import { rpcClient } from './rpcClient.js';

const CHANGES_PER_CLIENT = 2_000;
const ROUNDS = Number(process.env.PACED_FLOOR_ROUNDS ?? 3);
/** No single reply may take longer than this; the bench fails instead of hanging. */
const WAIT_LIMIT_MS = 30_000;

/** The child: the reference server with an in-memory store; sends its port. */
async function serve() {
  const { startServer, MemoryServerStore } = await import('../dist/server/index.js');
  const server = await startServer({ port: 0, store: new MemoryServerStore(), onError: error => console.error('[floor server]', error) });
  answerParent({ port: server.port }, {}, () => server.close());
}

/** The highest rev in a commitChanges reply (an array of changes, or `{ changes }` with compact acks). */
function replyRev(result, fallback) {
  const changes = Array.isArray(result) ? result : (result?.changes ?? []);
  return changes.reduce((rev, change) => Math.max(rev, typeof change?.rev === 'number' ? change.rev : rev), fallback);
}

/** Two bare clients on one doc, 2,000 paced appends each; ms from the first send to the last reply. */
async function pacedRun(url, docId) {
  const clients = [await rpcClient(url, WAIT_LIMIT_MS), await rpcClient(url, WAIT_LIMIT_MS)];
  try {
    for (const client of clients) await client.call('subscribe', [[docId]]);
    const seed = { id: `${docId}-seed`, baseRev: 0, rev: 1, ops: [{ op: 'replace', path: '', value: { items: [] } }], createdAt: Date.now(), committedAt: 0 };
    let head = replyRev(await clients[0].call('commitChanges', [docId, [seed]]), 1);
    const start = performance.now();
    await Promise.all(
      clients.map(async (client, who) => {
        for (let i = 0; i < CHANGES_PER_CLIENT; i++) {
          const change = { id: `${docId}-${who}-${i}`, baseRev: head, rev: head + 1, ops: [{ op: 'add', path: '/items/-', value: `${who}${i}` }], createdAt: Date.now(), committedAt: 0 };
          head = Math.max(head, replyRev(await client.call('commitChanges', [docId, [change]]), head));
        }
      }),
    );
    const ms = performance.now() - start;
    if (head !== 2 * CHANGES_PER_CLIENT + 1) throw new Error(`floor: expected head ${2 * CHANGES_PER_CLIENT + 1}, got ${head}`);
    return ms;
  } finally {
    for (const client of clients) client.close();
  }
}

async function main() {
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve']);
  const { port } = child.ready;
  const proxy = await startProxy(port);
  try {
    const relayed = [];
    const direct = [];
    for (let round = 0; round < ROUNDS; round++) {
      relayed.push(await pacedRun(proxy.url, `floor-relay-${round}`));
      direct.push(await pacedRun(`ws://127.0.0.1:${port}`, `floor-direct-${round}`));
    }
    const ms = value => `${Math.round(value).toLocaleString('en-US')} ms`;
    console.log(`Paced floor: 2 bare JSON-RPC clients × ${CHANGES_PER_CLIENT.toLocaleString('en-US')} OT changes, one in flight each; median of ${ROUNDS} alternating rounds`);
    console.log(`  through the bench relay: ${ms(median(relayed))} (runs: ${relayed.map(ms).join(', ')})`);
    console.log(`  straight to the server:  ${ms(median(direct))} (runs: ${direct.map(ms).join(', ')})`);
  } finally {
    await proxy.close();
    await child.close();
  }
}

if (process.argv.includes('--serve')) await serve();
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
