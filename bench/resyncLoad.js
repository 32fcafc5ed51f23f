// A resync under load: one server on PostgreSQL holding many followed documents loses its LISTEN
// connection (pg_terminate_backend) and, once it is back, reloads every loaded document; meanwhile
// one client commits, one commit at a time, to a new doc and to a random followed one in turn.
// Prints how long the resync's reloads took, how many failed, and the commits' latencies then.
//
//   npm run build && node bench/resyncLoad.js [--docs 2000] [--changes 20] [--pool 10] [--rounds 1] [root …]
//
// A root is a checkout of patches-rx with its dist/ built (default: this one); given several,
// the rounds alternate between them (a build before a change beside the one after it).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { query, throwawayCluster } from './pgServer.js';
import { rpcClient } from './rpcClient.js';
import { percentile } from './server.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  return Number(value);
};
const docs = option('--docs', 2000);
const changes = option('--changes', 20);
const poolSize = option('--pool', 10);
const rounds = option('--rounds', 1);
const roots = args.length ? args : ['.'];

const cluster = await throwawayCluster();
if (!cluster) {
  console.log('resyncLoad: no PostgreSQL binaries (install Debian\'s postgresql, or set PG_BIN)');
  process.exit(0);
}
let databases = 0;
try {
  for (let round = 1; round <= rounds; round++) {
    for (const root of roots) console.log(JSON.stringify({ root, round, load: readFileSync('/proc/loadavg', 'utf8').split(' ')[0], ...(await run(resolve(root))) }));
  }
} finally {
  await cluster.stop();
}

async function run(root) {
  const { startServer, PostgresServerStore } = await import(pathToFileURL(resolve(root, 'dist/server/index.js')).href);
  const name = `resync_${++databases}`;
  await cluster.createDatabase(name);
  const url = cluster.url(name);
  const store = new PostgresServerStore({ connectionString: url, poolSize });
  await store.open();
  await seed(url);
  const faults = [];
  const server = await startServer({ port: 0, store, cacheSize: docs + 1000, onError: (error) => faults.push(error) });
  const follower = await rpcClient(server.url);
  const writer = await rpcClient(server.url);
  const ids = Array.from({ length: docs }, (_, i) => `d${i}`);
  const heads = new Map(ids.map((id) => [id, changes]));
  try {
    // Every doc followed, so loaded (and kept), as a server whose clients have them open.
    await follower.call('subscribe', [ids]);

    // Reloads after the cut: counted where the server asks the store.
    let cutAt = Infinity;
    let reloads = 0;
    let reloadsDoneAt = 0;
    const loadDoc = store.loadDoc.bind(store);
    store.loadDoc = (docId) => {
      const started = performance.now();
      const counted = started >= cutAt;
      return loadDoc(docId).finally(() => {
        if (counted && ++reloads >= docs) reloadsDoneAt ||= performance.now();
      });
    };

    const latencies = { newDoc: [], followedDoc: [] };
    let failedCommits = 0;
    let committing = true;
    const commits = (async () => {
      for (let i = 0; committing; i++) {
        const toNew = i % 2 === 0;
        const docId = toNew ? `new${i}` : ids[Math.floor(Math.random() * docs)];
        const baseRev = toNew ? 0 : heads.get(docId);
        const started = performance.now();
        try {
          const result = await writer.call('commitChanges', [docId, [{ id: `w${i}`, baseRev, rev: baseRev + 1, ops: [{ op: 'replace', path: toNew ? '' : '/w', value: toNew ? { w: i } : i }], createdAt: 1000, committedAt: 0 }]]);
          if (!toNew) heads.set(docId, result.changes.at(-1).rev);
          if (started >= cutAt) (toNew ? latencies.newDoc : latencies.followedDoc).push(performance.now() - started);
        } catch {
          if (started >= cutAt) failedCommits++;
        }
      }
    })();

    const faultsBefore = faults.length;
    cutAt = performance.now();
    await query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'");
    // Until every doc was reloaded (or its reload failed), and a little after.
    while (!reloadsDoneAt) await new Promise((done) => setTimeout(done, 50));
    await new Promise((done) => setTimeout(done, 500));
    committing = false;
    await commits;
    const sorted = (list) => [...list].sort((a, b) => a - b);
    const figures = (list) => ({ n: list.length, p50: Math.round(percentile(sorted(list), 50)), p99: Math.round(percentile(sorted(list), 99)), max: Math.round(Math.max(0, ...list)) });
    return {
      resyncMs: Math.round(reloadsDoneAt - cutAt),
      faultsInResync: faults.length - faultsBefore,
      faultKinds: [...new Set(faults.slice(faultsBefore).map((error) => String(error.message).slice(0, 60)))],
      failedCommits,
      commitsToNewDocs: figures(latencies.newDoc),
      commitsToFollowedDocs: figures(latencies.followedDoc),
    };
  } finally {
    follower.close();
    writer.close();
    await server.close();
  }
}

/** `docs` OT docs of `changes` changes each, written straight into the tables (the store made them). */
async function seed(url) {
  await query(url, `INSERT INTO patches_rx_docs (doc_id, head_rev) SELECT 'd' || i, $1 FROM generate_series(0, $2 - 1) AS i`, [changes, docs]);
  await query(
    url,
    `INSERT INTO patches_rx_changes (doc_id, rev, entry_rev, kind, change_id, body)
     SELECT 'd' || i, r, r, 'ot', 'd' || i || '-' || r, json_build_object(
       'id', 'd' || i || '-' || r, 'baseRev', r - 1, 'rev', r, 'createdAt', 1000, 'committedAt', 1000,
       'ops', CASE WHEN r = 1 THEN json_build_array(json_build_object('op', 'replace', 'path', '', 'value', json_build_object('n', 0, 'text', repeat('x', 200))))
                   ELSE json_build_array(json_build_object('op', 'replace', 'path', '/n', 'value', r)) END)
     FROM generate_series(0, $2 - 1) AS i, generate_series(1, $1) AS r`,
    [changes, docs],
  );
}
