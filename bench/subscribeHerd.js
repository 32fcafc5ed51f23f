// A restart's herd of subscribes: a server that just started (nothing loaded) is asked, at once, by
// many clients to follow all of their documents (one `subscribe` each, as our client sends on
// every reconnect for up to 1,000 ids, and the reference's for all of them), while one more client
// commits, one commit at a time, to a hot document it loaded first and to new ones in turn.
// Prints how long the subscribes took (each one's answer, retries of a refused one included:
// after 1 s, as a client retries), how many were refused, and the commits' latencies meanwhile.
//
//   npm run build && node bench/subscribeHerd.js [--store pg|file] [--clients 20] [--docs 1000] [--changes 20]
//       [--pool 10] [--writer 1] [--rounds 1] [root …]
//
// --docs is per client (each follows its own); --store pg runs on a throwaway PostgreSQL cluster
// (pool of --pool connections), file on a FileServerStore in a temp directory (fsync on, its
// default); --writer 0 commits nothing meanwhile (the herd alone). A root is a checkout of
// patches-rx with its dist/ built (default: this one); given several, the rounds alternate
// between them (a build before a change beside the one after it).
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { query, throwawayCluster } from './pgServer.js';
import { rpcClient } from './rpcClient.js';
import { percentile } from './server.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  return value;
};
const storeKind = option('--store', 'pg');
const clients = Number(option('--clients', 20));
const docs = Number(option('--docs', 1000));
const changes = Number(option('--changes', 20));
const poolSize = Number(option('--pool', 10));
const rounds = Number(option('--rounds', 1));
// --writer 0: no commits meanwhile (what the herd itself costs).
const writing = option('--writer', '1') !== '0';
const roots = args.length ? args.map((root) => resolve(root)) : [resolve('.')];
const idsOf = (client) => Array.from({ length: docs }, (_, i) => `c${client}-${i}`);

const seeded = storeKind === 'pg' ? await seedDatabase() : await seedDirectory();
if (!seeded) {
  console.log("subscribeHerd: no PostgreSQL binaries (install Debian's postgresql, or set PG_BIN)");
  process.exit(0);
}
try {
  for (let round = 1; round <= rounds; round++) {
    for (const root of roots) {
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      console.log(JSON.stringify({ root, round, store: storeKind, clients, docs, load, ...(await run(root, await seeded.fresh(root))) }));
    }
  }
} finally {
  await seeded.stop();
}

/** One restart: the store (fresh from the seed), a server, the herd and the committing client. */
async function run(root, store) {
  const { startServer } = await import(pathToFileURL(join(root, 'dist/server/index.js')).href);
  const faults = [];
  const server = await startServer({ port: 0, store, onError: (error) => faults.push(error) });
  const herd = await Promise.all(Array.from({ length: clients }, () => rpcClient(server.url, 120_000)));
  const writer = await rpcClient(server.url);
  try {
    // The hot doc, loaded before the herd comes.
    let head = (await writer.call('commitChanges', ['hot', [commit('w0', 0)]])).changes.at(-1).rev;
    let herdAt = Infinity;
    let herdDone = false;
    // In turn to the hot doc and to a new one (a load of its own, at a doc's first call).
    const latencies = { hot: [], new: [] };
    let failedCommits = 0;
    const commits = (async () => {
      for (let i = 1; writing && !herdDone; i++) {
        const toNew = i % 2 === 0;
        const started = performance.now();
        try {
          const rev = (await writer.call('commitChanges', [toNew ? `new${i}` : 'hot', [commit(`w${i}`, toNew ? 0 : head)]])).changes.at(-1).rev;
          if (!toNew) head = rev;
          if (started >= herdAt) latencies[toNew ? 'new' : 'hot'].push({ started, ms: performance.now() - started });
        } catch {
          if (started >= herdAt) failedCommits++;
        }
      }
    })();
    // Let the committing client get going.
    await new Promise((done) => setTimeout(done, 200));

    herdAt = performance.now();
    let refused = 0;
    const subscribed = await Promise.all(
      herd.map(async (client, index) => {
        for (;;) {
          try {
            const ids = await client.call('subscribe', [idsOf(index)]);
            if (ids.length !== docs) throw new Error(`subscribe answered ${ids.length} of ${docs} ids`);
            return performance.now() - herdAt;
          } catch (error) {
            if (!/^503 /.test(error.message)) throw error;
            refused++;
            await new Promise((done) => setTimeout(done, 1000));
          }
        }
      }),
    );
    const herdEnd = performance.now();
    await new Promise((done) => setTimeout(done, 300));
    herdDone = true;
    await commits;
    const ms = (value) => Math.round(value);
    // Commits started while the herd lasted, and the latencies of those and of the ones in the 300 ms after.
    const figures = (list) => {
      const sorted = list.map(({ ms }) => ms).sort((a, b) => a - b);
      return { during: list.filter(({ started }) => started < herdEnd).length, n: sorted.length, p50: ms(percentile(sorted, 50)), p99: ms(percentile(sorted, 99)), max: ms(Math.max(0, ...sorted)) };
    };
    return {
      subscribeMs: { p50: ms(percentile([...subscribed].sort((a, b) => a - b), 50)), max: ms(Math.max(...subscribed)) },
      refusedSubscribes: refused,
      commitsToHotDoc: figures(latencies.hot),
      commitsToNewDocs: figures(latencies.new),
      failedCommits,
      faults: faults.length,
      faultKinds: [...new Set(faults.map((error) => String(error.message).slice(0, 60)))],
    };
  } finally {
    for (const client of [...herd, writer]) client.close();
    await server.close();
  }
}

function commit(id, baseRev) {
  return { id, baseRev, rev: baseRev + 1, ops: [{ op: 'replace', path: baseRev === 0 ? '' : '/w', value: baseRev === 0 ? { w: 0 } : baseRev }], createdAt: 1000, committedAt: 0 };
}

/** The docs, written once into a template database; each run gets a copy of it. */
async function seedDatabase() {
  const cluster = await throwawayCluster();
  if (!cluster) return undefined;
  const { PostgresServerStore } = await import(pathToFileURL(join(roots[0], 'dist/server/index.js')).href);
  await cluster.createDatabase('herd_seed');
  const seedUrl = cluster.url('herd_seed');
  const schema = new PostgresServerStore({ connectionString: seedUrl });
  await schema.open();
  await schema.close();
  await query(seedUrl, `INSERT INTO patches_rx_docs (doc_id, head_rev) SELECT 'c' || c || '-' || i, $1 FROM generate_series(0, $2 - 1) AS c, generate_series(0, $3 - 1) AS i`, [changes, clients, docs]);
  await query(
    seedUrl,
    `INSERT INTO patches_rx_changes (doc_id, rev, entry_rev, kind, change_id, body)
     SELECT d, r, r, 'ot', d || '-' || r, json_build_object(
       'id', d || '-' || r, 'baseRev', r - 1, 'rev', r, 'createdAt', 1000, 'committedAt', 1000,
       'ops', CASE WHEN r = 1 THEN json_build_array(json_build_object('op', 'replace', 'path', '', 'value', json_build_object('n', 0, 'text', repeat('x', 200))))
                   ELSE json_build_array(json_build_object('op', 'replace', 'path', '/n', 'value', r)) END)
     FROM (SELECT 'c' || c || '-' || i AS d FROM generate_series(0, $2 - 1) AS c, generate_series(0, $3 - 1) AS i) AS ids, generate_series(1, $1) AS r`,
    [changes, clients, docs],
  );
  let databases = 0;
  return {
    async fresh(root) {
      const { PostgresServerStore: Store } = await import(pathToFileURL(join(root, 'dist/server/index.js')).href);
      const name = `herd_${++databases}`;
      await query(cluster.url('postgres'), `CREATE DATABASE ${name} TEMPLATE herd_seed`);
      const store = new Store({ connectionString: cluster.url(name), poolSize });
      await store.open();
      return store;
    },
    stop: () => cluster.stop(),
  };
}

/** The docs, written once through the store (one entry of `changes` changes each); each run gets a copy. */
async function seedDirectory() {
  const base = await mkdtemp(join(tmpdir(), 'patches-rx-herd-'));
  const { FileServerStore } = await import(pathToFileURL(join(roots[0], 'dist/server/index.js')).href);
  const seed = new FileServerStore({ directory: join(base, 'seed'), fsync: false });
  await seed.open();
  for (let client = 0; client < clients; client++) {
    for (const docId of idsOf(client)) {
      const entry = Array.from({ length: changes }, (_, r) => ({
        id: `${docId}-${r + 1}`, baseRev: r, rev: r + 1, createdAt: 1000, committedAt: 1000,
        ops: r === 0 ? [{ op: 'replace', path: '', value: { n: 0, text: 'x'.repeat(200) } }] : [{ op: 'replace', path: '/n', value: r + 1 }],
      }));
      await seed.append(docId, { kind: 'ot', changes: entry });
    }
  }
  await seed.close();
  let runs = 0;
  return {
    async fresh(root) {
      const { FileServerStore: Store } = await import(pathToFileURL(join(root, 'dist/server/index.js')).href);
      if (runs) await rm(join(base, `run${runs}`), { recursive: true, force: true });
      const directory = join(base, `run${++runs}`);
      await cp(join(base, 'seed'), directory, { recursive: true });
      const store = new Store({ directory });
      await store.open();
      return store;
    },
    stop: () => rm(base, { recursive: true, force: true }),
  };
}
