// A commit far behind a busy OT doc, with the server's transform bounded (`maxTransformWork`,
// default) and not (`Infinity`, as before session 33), alternated. Two measures, each with the
// server in a process of its own so its CPU is its own:
//
// - raw: a commit of N inserts at the head of a list, at baseRev 1, over N such inserts
//   committed at rev 2 (N² op pairs that all meet: the stall of review), and another client's
//   commit to the same doc sent 50 ms after it. Prints the far commit's answer and time, the
//   server's CPU over it, and how long the next commit waited.
// - client: our client offline makes N such inserts while another commits N; it reconnects.
//   Prints the time until both show the same list (every edit once), the server's CPU and this
//   process's CPU (the two clients; the other one idle meanwhile), and the 409s.
//
// By hand, not in `npm run bench`:
//
//   npm run build && N=4000 CLIENT_N=3000 node bench/farBehind.js
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InMemoryStore, Patches } from '../dist/index.js';
import { PatchesSync } from '../dist/net/index.js';
import { answerParent, forkChild } from './childProcess.js';
import { now, until } from './waits.js';
import { rpcClient } from './rpcClient.js';

const N = Number(process.env.N ?? 4000);
const CLIENT_N = Number(process.env.CLIENT_N ?? 3000);
const WAIT_LIMIT_MS = 600_000;

async function serve(work) {
  const { startServer } = await import('../dist/server/index.js');
  const server = await startServer({ port: 0, maxTransformWork: work === 'off' ? Infinity : undefined });
  answerParent({ port: server.port }, {
    cpu: () => {
      const used = process.cpuUsage();
      return { ms: (used.user + used.system) / 1000, refused: server.stats.commitsTooFarBehind };
    },
  }, () => server.close());
}

const change = (id, ops, baseRev) => ({ id, ops, baseRev, rev: baseRev + 1, createdAt: Date.now() });
const inserts = (count, value) => Array.from({ length: count }, () => ({ op: 'add', path: '/l/0', value }));

async function raw(work) {
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve', work], { waitLimitMs: WAIT_LIMIT_MS });
  const url = `ws://127.0.0.1:${child.ready.port}`;
  const [writer, other] = [await rpcClient(url, WAIT_LIMIT_MS), await rpcClient(url, WAIT_LIMIT_MS)];
  try {
    await writer.call('commitChanges', ['d', [change('s', [{ op: 'add', path: '/l', value: [] }], 0)]]);
    await writer.call('commitChanges', ['d', [change('h', inserts(N, 0), 1)]]);
    const before = await child.ask('cpu');
    const start = now();
    // A refusal rejects with its code and message (409 TOO_FAR_BEHIND: …).
    const far = writer.call('commitChanges', ['d', [change('x', inserts(N, 1), 1)]]).then(
      result => ({ answer: `committed at rev ${result.changes.at(-1).rev}`, ms: now() - start }),
      error => ({ answer: error.message.split(':')[0], refused: true, ms: now() - start }),
    );
    await new Promise(resolve => setTimeout(resolve, 50));
    const sent = now();
    await other.call('commitChanges', ['d', [change('y', [{ op: 'replace', path: '/k', value: 1 }], 2)]]);
    const nextMs = now() - sent;
    const { answer, refused = false, ms } = await far;
    const after = await child.ask('cpu');
    console.log(`raw, bound ${work}: ${N} inserts over ${N} (${(N * N / 1e6).toFixed(0)} M pairs) answered in ${ms.toFixed(0)} ms (${answer}), server CPU ${(after.ms - before.ms).toFixed(0)} ms; the doc's next commit waited ${nextMs.toFixed(0)} ms`);
    return { work, farMs: ms, serverCpuMs: after.ms - before.ms, nextCommitMs: nextMs, refused };
  } finally {
    writer.close();
    other.close();
    await child.close();
  }
}

async function client(work) {
  const child = await forkChild(fileURLToPath(import.meta.url), ['--serve', work], { waitLimitMs: WAIT_LIMIT_MS });
  const url = `ws://127.0.0.1:${child.ready.port}`;
  const made = [];
  const make = async () => {
    const patches = new Patches({ store: new InMemoryStore() });
    const sync = new PatchesSync(patches, url);
    const errors = [];
    sync.onError(error => errors.push(error));
    made.push({ patches, sync, errors });
    await sync.connect();
    return { patches, sync, errors };
  };
  const synced = (sync, rev) => until(sync.synced$, s => s.d?.status === 'synced' && !s.d.hasPending && s.d.committedRev >= rev, `rev ${rev}`, WAIT_LIMIT_MS);
  try {
    const [A, B] = [await make(), await make()];
    const [a, b] = [await A.patches.openDoc('d'), await B.patches.openDoc('d')];
    a.change(d => void (d.list = []));
    await synced(B.sync, 1);
    await A.sync.disconnect();
    for (let i = 0; i < CLIENT_N; i++) a.change(d => void d.list.unshift(`a${i}`));
    for (let i = 0; i < CLIENT_N; i++) b.change(d => void d.list.unshift(`b${i}`));
    await Promise.all([a.flush(), b.flush()]);
    await synced(B.sync, 1 + CLIENT_N);
    const before = await child.ask('cpu');
    const cpu = process.cpuUsage();
    const start = now();
    await A.sync.connect();
    await synced(A.sync, 1 + 2 * CLIENT_N);
    await synced(B.sync, 1 + 2 * CLIENT_N);
    const ms = now() - start;
    const used = process.cpuUsage(cpu);
    const after = await child.ask('cpu');
    const list = a.state.list;
    const once = JSON.stringify(list) === JSON.stringify(b.state.list) && list.length === 2 * CLIENT_N && new Set(list).size === list.length;
    const clientCpuMs = (used.user + used.system) / 1000;
    console.log(`client, bound ${work}: ${CLIENT_N} offline inserts behind ${CLIENT_N}: converged in ${ms.toFixed(0)} ms (every edit once: ${once}), 409s ${after.refused}, server CPU ${(after.ms - before.ms).toFixed(0)} ms, clients' CPU ${clientCpuMs.toFixed(0)} ms; errors reported ${A.errors.length + B.errors.length}`);
    return { work, convergedMs: ms, serverCpuMs: after.ms - before.ms, clientCpuMs, refusals: after.refused, everyEditOnce: once };
  } finally {
    for (const { sync, patches } of made) {
      sync.destroy();
      await patches.close();
    }
    await child.close();
  }
}

export async function main() {
  const results = [];
  for (const work of ['default', 'off', 'default', 'off']) results.push(await raw(work));
  for (const work of ['default', 'off']) results.push(await client(work));
  return { farBehind: results };
}

if (process.argv[2] === '--serve') await serve(process.argv[3]);
else if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
