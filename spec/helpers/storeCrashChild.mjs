// The child of spec/server/stores/storeCrash.spec.ts (runs dist/: build first): opens a
// FileServerStore on a data directory (so recovers what the last child left), reports every
// doc's stored log, then writes until it is killed: appends to new and existing docs, deletes,
// undeletes and snapshots, many docs at once (one call at a time per doc, as the server does),
// with checkpoints forced often. Every report is a synchronous write to the report file, so what
// it says before a SIGKILL is there after it: `intent` before a call, `ack` once it resolved, and
// `synced` for each sync of a segment or journal file and `cut` for each cut of one (its file's
// inode and the size the sync covered or the cut left, for the spec's model of a power cut).
//
//   node spec/helpers/storeCrashChild.mjs <directory> <report file> <round> <docs> [check]
import fs, { fstatSync, openSync, readlinkSync, writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { FileServerStore } from '../../dist/server/index.js';

const [directory, reportPath, roundText, docsText, mode] = process.argv.slice(2);
const round = Number(roundText);
const report = openSync(reportPath, 'a');
const say = (record) => writeSync(report, JSON.stringify(record) + '\n');

// Every sync of a segment or a journal file (fileOps' and CommitJournal's `fs.fdatasync`), once
// done, and every cut of one (`fs.ftruncateSync`): what a power cut keeps of that file (powerCut.ts).
const modelled = (path) => path.includes('/log-') || /\/journal(-checkpoint)?\.jsonl(\.tmp-[0-9a-f]+)?$/.test(path); // powerCut.ts's isModelled
const keyOf = (fd) => {
  const { ino, birthtimeMs, size } = fstatSync(fd);
  return { key: `${ino}:${birthtimeMs}`, size }; // powerCut.ts's fileKey
};
const realDatasync = fs.fdatasync;
fs.fdatasync = function fdatasync(fd, callback) {
  if (!modelled(readlinkSync(`/proc/self/fd/${fd}`))) return realDatasync(fd, callback);
  const { key, size } = keyOf(fd);
  realDatasync(fd, (error) => {
    if (!error) say({ synced: key, size });
    callback(error);
  });
};
const realCut = fs.ftruncateSync;
fs.ftruncateSync = function ftruncateSync(fd, length) {
  realCut(fd, length);
  if (modelled(readlinkSync(`/proc/self/fd/${fd}`))) say({ cut: keyOf(fd).key, size: length ?? 0 });
};
// The store's named imports of them follow.
syncBuiltinESMExports();

/** A small seeded random generator (mulberry32): a round's run can be repeated. */
let seed = (round * 2654435761) >>> 0;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const docs = Array.from({ length: Number(docsText) }, (_, i) => `d${i}`);
const store = new FileServerStore({
  directory,
  checkpointFiles: 2 + Math.floor(random() * 8),
  checkpointBytes: 1000 + Math.floor(random() * 8000),
  openSegments: 8,
  maxDocRecords: 16,
  onWarning: () => undefined,
});
await store.open();

const heads = new Map();
const state = {};
for (const docId of docs) {
  const stored = await store.loadDoc(docId);
  if (stored.tombstone) {
    state[docId] = { deleted: true };
    heads.set(docId, { deleted: true, head: 0 });
    continue;
  }
  const changes = (await store.readLog(docId, 0)).flatMap((entry) => entry.changes);
  state[docId] = { ids: changes.map((change) => change.id), revs: changes.map((change) => change.rev) };
  heads.set(docId, { deleted: false, head: changes.length === 0 ? 0 : changes[changes.length - 1].rev });
}
say({ state });
process.stdout.write('ready\n');
// A checking round: no writes, and no checkpoint either (the directory is left as it was found, recovered).
if (mode === 'check') process.exit(0);

const change = (docId, rev) => ({ id: `${round}:${docId}:${rev}`, rev, baseRev: rev - 1, ops: [{ op: 'add', path: `/r${rev}`, value: round }], createdAt: 1, committedAt: 1 });

async function step(docId) {
  const doc = heads.get(docId);
  const roll = random();
  if (doc.deleted) {
    if (roll >= 0.3) return;
    say({ intent: 'undelete', docId });
    await store.removeTombstone(docId);
    Object.assign(doc, { deleted: false, head: 0 });
    say({ ack: 'undelete', docId });
  } else if (roll < 0.04 && doc.head > 0) {
    say({ intent: 'delete', docId });
    await store.deleteDoc(docId, { docId, deletedAt: 1, lastRev: doc.head });
    doc.deleted = true;
    say({ ack: 'delete', docId });
  } else if (roll < 0.08 && doc.head > 0) {
    await store.saveSnapshot(docId, { kind: 'ot', rev: doc.head, state: { rev: doc.head } });
  } else {
    const count = roll > 0.85 ? 2 : 1;
    const changes = Array.from({ length: count }, (_, i) => change(docId, doc.head + 1 + i));
    const ids = changes.map((c) => c.id);
    say({ intent: 'append', docId, ids });
    await store.append(docId, { kind: 'ot', changes });
    doc.head += count;
    say({ ack: 'append', docId, ids });
  }
}

const busy = new Set();
async function worker() {
  for (;;) {
    const docId = docs[Math.floor(random() * docs.length)];
    if (busy.has(docId)) {
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    busy.add(docId);
    try {
      await step(docId);
    } finally {
      busy.delete(docId);
    }
  }
}

try {
  await Promise.all(Array.from({ length: 12 }, worker));
} catch (error) {
  say({ error: String(error?.stack ?? error) });
  process.exit(1);
}
