// How long one large LWW commit holds the reference server's event loop, and so every other
// client's requests. The server runs in a process of its own; a bystander in a third process asks
// it for another (small) doc over and over while the commit runs, and the longest it waited is
// printed beside the server's longest block (`monitorEventLoopDelay`), how long the commit took
// from its frame sent to its reply, and the blocks of more than 20 ms seen meanwhile (parsing
// the frame, the commit's work, serialising the reply each hold the loop once; a sliced commit's
// work is many short blocks).
//
// Docs of 0, 20,000 and 100,000 fields (in 100 bucket objects, stored as bench/lwwServer.js does);
// commits of 1,000, 8,000 and the most ops of that shape that fit in one change of 1 MB
// (`maxChangeBytes`' default), each op a new value of an existing field (of new fields on the
// empty doc), and one `replace` of a whole bucket (the fields under it superseded), then one of
// the whole doc (path `''`: every field superseded).
//
// By hand, not in `npm run bench`:
//
//   npm run build && node bench/lwwStall.js [--fields 0,20000,100000] [--ops 1000,8000,max] [--build DIR] [--bystander off]
//
// `--build` runs the server of another checkout (built), to alternate with this one; `--bystander
// off` measures the commit alone (its time and the server's CPU, no other request served).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { answerParent, forkChild } from './childProcess.js';
import { rpcClient } from './rpcClient.js';
import { now } from './waits.js';

const WAIT_LIMIT_MS = 300_000;
const MAX_CHANGE_BYTES = 1_000_000;
const STORE_OPS = 8_000;
const BLOCK_MS = 20;

function argument(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

/** The server's process: the loop's delay histogram and the blocks longer than BLOCK_MS, reset on ask. */
async function serve(build) {
  const { MemoryServerStore, startServer } = await import(pathToFileURL(path.join(build, 'dist/server/index.js')).href);
  const server = await startServer({ port: 0, store: new MemoryServerStore() });
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let blocks = [];
  let cpu = process.cpuUsage();
  let last = now();
  const tick = () => {
    const at = now();
    if (at - last > BLOCK_MS) blocks.push(Math.round(at - last));
    last = at;
    setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  answerParent({ port: server.port }, {
    reset: () => {
      histogram.reset();
      blocks = [];
      cpu = process.cpuUsage();
      return true;
    },
    loop: () => {
      const used = process.cpuUsage(cpu);
      return { maxMs: histogram.max / 1e6, blocks, cpuMs: (used.user + used.system) / 1000 };
    },
  }, () => server.close());
}

/** The bystander's process: getDoc of a small doc, one after another, from `start` until `stop`. */
async function bystand(port) {
  const client = await rpcClient(`ws://127.0.0.1:${port}`, WAIT_LIMIT_MS);
  await client.call('commitChanges', ['small', [{ id: 'small-1', baseRev: 0, rev: 1, ops: [{ op: 'replace', path: '/x', value: 1, ts: 1 }] }]]);
  let running = false;
  let waits = [];
  let loop = Promise.resolve();
  answerParent({ ready: true }, {
    start: () => {
      running = true;
      waits = [];
      loop = (async () => {
        while (running) {
          const sent = now();
          await client.call('getDoc', ['small']);
          waits.push(now() - sent);
        }
      })();
      return true;
    },
    stop: async () => {
      running = false;
      await loop;
      return { maxMs: Math.max(...waits), calls: waits.length };
    },
  }, async () => client.close());
}

/** Ops writing new values of fields `first`, `first + 1`, … as lwwServer.js lays them out. */
function fieldOps(first, count, value, ts) {
  return Array.from({ length: count }, (_, k) => ({ op: 'replace', path: `/b${(first + k) % 100}/f${first + k}`, value, ts }));
}

/** How many such ops fit in one change of MAX_CHANGE_BYTES (the server counts its JSON's UTF-8 bytes). */
function maxOps(first, ts) {
  let low = 1;
  let high = 200_000;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    const bytes = Buffer.byteLength(JSON.stringify({ id: 'c-max-xxxxxxxx', baseRev: 99, rev: 100, createdAt: ts, ops: fieldOps(first, mid, -999_999, ts) }));
    if (bytes <= MAX_CHANGE_BYTES - 100) low = mid;
    else high = mid - 1;
  }
  return low;
}

async function commit(client, docId, rev, id, ops) {
  const result = await client.call('commitChanges', [docId, [{ id, baseRev: rev, rev: rev + 1, createdAt: Date.now(), ops }]]);
  return result.changes.at(-1).rev;
}

async function measure(build, fieldsList, opsList, withBystander) {
  const script = fileURLToPath(import.meta.url);
  const server = await forkChild(script, ['--serve', build], { waitLimitMs: WAIT_LIMIT_MS, execArgv: process.env.SERVER_EXEC_ARGV ? process.env.SERVER_EXEC_ARGV.split(' ') : [] });
  const bystander = await forkChild(script, ['--bystand', String(server.ready.port)], { waitLimitMs: WAIT_LIMIT_MS });
  const writer = await rpcClient(`ws://127.0.0.1:${server.ready.port}`, WAIT_LIMIT_MS);
  const rows = [];
  try {
    for (const fields of fieldsList) {
      const docId = `lww-${fields}`;
      let rev = 0;
      for (let start = 0; start < fields; start += STORE_OPS) rev = await commit(writer, docId, rev, `store-${start}`, fieldOps(start, Math.min(STORE_OPS, fields - start), start, 1));
      const cases = opsList.map(ops => ({ label: String(ops), ops: ops === 'max' ? maxOps(0, Date.now()) : Number(ops), bucket: undefined }));
      if (fields > 0) cases.push({ label: 'bucket', ops: 1, bucket: '/b7' }, { label: 'root', ops: 1, bucket: '' });
      for (const { label, ops, bucket } of cases) {
        const ts = Date.now();
        const sent = bucket !== undefined ? [{ op: 'replace', path: bucket, value: { new: true }, ts }] : fieldOps(0, ops, -ops, ts);
        await server.ask('reset');
        if (withBystander) await bystander.ask('start');
        const started = now();
        rev = await commit(writer, docId, rev, `c-${label}-${rev}`, sent);
        const commitMs = now() - started;
        const waited = withBystander ? await bystander.ask('stop') : { maxMs: NaN };
        const loop = await server.ask('loop');
        const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
        const row = { fields, ops: bucket === '' ? 'root (all fields)' : bucket ? 'bucket (1% of fields)' : ops, commitMs: Math.round(commitMs), serverCpuMs: Math.round(loop.cpuMs), serverMaxBlockMs: Math.round(loop.maxMs), bystanderMaxWaitMs: Math.round(waited.maxMs), blocksOver20: loop.blocks.join(' '), load };
        console.log(JSON.stringify(row));
        rows.push(row);
      }
    }
  } finally {
    writer.close();
    await bystander.close();
    await server.close();
  }
  return rows;
}

export async function main() {
  const build = path.resolve(argument('build', path.join(path.dirname(fileURLToPath(import.meta.url)), '..')));
  const fields = argument('fields', '0,20000,100000').split(',').map(Number);
  const ops = argument('ops', '1000,8000,max').split(',');
  console.log(`build ${build}`);
  const rows = await measure(build, fields, ops, argument('bystander', 'on') !== 'off');
  console.table(rows);
  return { lwwStall: rows };
}

if (process.argv[2] === '--serve') await serve(process.argv[3]);
else if (process.argv[2] === '--bystand') await bystand(Number(process.argv[3]));
else if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
