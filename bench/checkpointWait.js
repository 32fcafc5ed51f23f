// How long a commit waits for a FileServerStore checkpoint when commits are spread over many
// documents (by hand; not in `npm run bench`): DOCS documents get one append each, 50 at a time
// (as fast as the store takes them), or RATE a second (paced, below what the disk takes), on a
// real temp directory with fsync on, default options unless set below. A checkpoint syncs every
// segment written since the last one: appends go on into a fresh journal meanwhile (session 33;
// before, every append waited for it), so the figure is the worst single append and the 99th
// percentile; and the CPU the process spent (all its threads). Before the checkpoint counted
// files (checkpointFiles, session 28), 60,000 docs between two 16 MB checkpoints made one append
// wait ~69 s.
//
//   npm run build && DOCS=20000 node bench/checkpointWait.js
//   DOCS=5000 RATE=1000 node bench/checkpointWait.js                   # paced
//   DOCS=20000 CHECKPOINT_FILES=100000 node bench/checkpointWait.js   # as before: bytes alone
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServerStore } from '../dist/server/index.js';

const DOCS = Number(process.env.DOCS ?? 20_000);
const RATE = process.env.RATE ? Number(process.env.RATE) : undefined;
const options = {};
if (process.env.CHECKPOINT_FILES) options.checkpointFiles = Number(process.env.CHECKPOINT_FILES);
if (process.env.CHECKPOINT_BYTES) options.checkpointBytes = Number(process.env.CHECKPOINT_BYTES);

const directory = mkdtempSync(join(tmpdir(), 'patches-rx-checkpoint-'));
const store = new FileServerStore({ directory, ...options });
await store.open();
const entry = (i) => ({ kind: 'ot', changes: [{ id: `c${i}`, rev: 1, baseRev: 0, ops: [{ op: 'replace', path: '', value: { text: 'x'.repeat(100) } }], createdAt: 1, committedAt: 1 }] });
const waits = [];
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
const timed = async (i) => {
  const before = process.hrtime.bigint();
  await store.append(`doc-${i}`, entry(i));
  waits.push(Number(process.hrtime.bigint() - before) / 1e6);
};
if (RATE) {
  // One append every 1/RATE s from the start, whatever the ones before are doing.
  const appends = [];
  for (let i = 0; i < DOCS; i++) {
    const due = (i * 1000) / RATE - Number(process.hrtime.bigint() - started) / 1e6;
    if (due > 1) await new Promise((resolve) => setTimeout(resolve, due));
    appends.push(timed(i));
  }
  await Promise.all(appends);
} else {
  for (let i = 0; i < DOCS; i += 50) await Promise.all(Array.from({ length: Math.min(50, DOCS - i) }, (_, k) => timed(i + k)));
}
const total = Number(process.hrtime.bigint() - started) / 1e6;
await store.close();
// The process's CPU (every thread: the appends, the syncs on the thread pool, the last checkpoint at close).
const cpu = process.cpuUsage(cpuBefore);
rmSync(directory, { recursive: true, force: true });
waits.sort((a, b) => a - b);
const at = (q) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))].toFixed(1);
console.table([{ docs: DOCS, rate: RATE ?? '50 at a time', options: JSON.stringify(options), 'total s': (total / 1000).toFixed(1), 'median append ms': at(0.5), 'p99 ms': at(0.99), 'worst ms': waits[waits.length - 1].toFixed(1), 'CPU s': ((cpu.user + cpu.system) / 1e6).toFixed(2) }]);
