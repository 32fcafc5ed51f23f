// An LWW document with many fields on the reference server (memory store, in this process):
// ms to store N fields sent in commits of 8,000 ops (about 0.5 MB each: a client back from a
// long offline session), then µs per paced commit of one field (each sent after the previous
// reply), on docs of 1,000, 20,000 and 100,000 fields. The server runs one commit at a time, so
// what a commit costs it is what every other client waits. And a small doc with a long history
// (a counter, presence): µs per commit over the first and the last 10,000 of 60,000 (past 50,000
// it remembers the most change ids it keeps for retries). Run: npm run build && node bench/lwwServer.js
import { pathToFileURL } from 'node:url';
import { MemoryServerStore, startServer } from '../dist/server/index.js';
import { rpcClient } from './rpcClient.js';

const SIZES = [1_000, 20_000, 100_000];
const OPS_PER_COMMIT = 8_000;
const PACED = 400;
const HISTORY = 60_000;
const HISTORY_EVERY = 10_000;

/** Commits `changes` one after another; the head rev after the last. */
async function commitEach(client, docId, rev, changes) {
  for (const change of changes) {
    const result = await client.call('commitChanges', [docId, [{ ...change, baseRev: rev, rev: rev + 1, createdAt: Date.now(), committedAt: 0 }]]);
    rev = (Array.isArray(result) ? result : result.changes).at(-1).rev;
  }
  return rev;
}

/** One doc of `fields` fields (in 100 bucket objects): ms to store them, µs per paced one-field commit. */
async function measure(client, fields) {
  const docId = `lww-fields-${fields}`;
  const batches = [];
  for (let start = 0; start < fields; start += OPS_PER_COMMIT) {
    const ops = [];
    for (let i = start; i < Math.min(fields, start + OPS_PER_COMMIT); i++) ops.push({ op: 'replace', path: `/b${i % 100}/f${i}`, value: i, ts: 1 });
    batches.push({ id: `store-${start}`, ops });
  }
  let started = performance.now();
  let rev = await commitEach(client, docId, 0, batches);
  const storeMs = performance.now() - started;
  const paced = Array.from({ length: PACED }, (_, k) => ({ id: `paced-${k}`, ops: [{ op: 'replace', path: `/b${k % 100}/f${k}`, value: -k, ts: Date.now() }] }));
  started = performance.now();
  rev = await commitEach(client, docId, rev, paced);
  return { fields, storeMs, pacedMicros: ((performance.now() - started) / PACED) * 1000 };
}

/** µs per one-field commit over each HISTORY_EVERY of HISTORY on one small doc. */
async function longHistory(client) {
  const perCommit = [];
  let started = performance.now();
  let rev = 0;
  for (let k = 1; k <= HISTORY; k++) {
    rev = await commitEach(client, 'lww-counter', rev, [{ id: `count-${k}`, ops: [{ op: 'replace', path: `/f${k % 10}`, value: k, ts: Date.now() }] }]);
    if (k % HISTORY_EVERY === 0) {
      perCommit.push(((performance.now() - started) / HISTORY_EVERY) * 1000);
      started = performance.now();
    }
  }
  return perCommit;
}

export async function main() {
  const server = await startServer({ port: 0, store: new MemoryServerStore() });
  const client = await rpcClient(`ws://127.0.0.1:${server.port}`);
  const rows = [];
  let history;
  try {
    for (const fields of SIZES) rows.push(await measure(client, fields));
    history = await longHistory(client);
  } finally {
    client.close();
    await server.close();
  }
  console.log(`An LWW doc of many fields on the server: stored in commits of ${OPS_PER_COMMIT.toLocaleString('en-US')} ops, then ${PACED} paced one-field commits`);
  console.table(rows.map(r => ({ fields: r.fields.toLocaleString('en-US'), 'ms to store them': r.storeMs.toFixed(0), 'µs per paced commit': r.pacedMicros.toFixed(0) })));
  console.log(`A small LWW doc with a long history: µs per commit over each ${HISTORY_EVERY.toLocaleString('en-US')} of ${HISTORY.toLocaleString('en-US')}: ${history.map(us => us.toFixed(0)).join(' / ')}`);
  return { lwwServer: rows, lwwHistory: history };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
