// OT algorithm costs, and how they grow with size.
//
//   npx tsc -p tsconfig.build.json && node bench/algorithms.js
//
// 1. Apply one committed change to a large document (applyCommittedChanges: strict,
//    copy-on-write apply, no pending). The document is a map of records of about 1 KB
//    ({ records: { r0: {...}, r1: {...}, ... }, list: [...] }), 10 MB and 100 MB of JSON. The
//    change replaces a field of one record, increments a counter and pushes onto a record's array.
// 2. Rebase P pending changes over S server changes (rebaseChanges), 100 × 100 and 1000 × 1000.
//    Each change has 3 ops on a shared array and shared records, so many pairs really interact
//    (index shifts, same-path sets, counters), plus a few that pass untouched.
// Every figure is the median of at least 5 timed runs after a warm-up run.
import { pathToFileURL } from 'node:url';
import { applyCommittedChanges } from '../dist/algorithms/applyCommittedChanges.js';
import { rebaseChanges } from '../dist/algorithms/rebaseChanges.js';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Microseconds taken by `run` (one call). */
function time(run) {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1000;
}

/** A deterministic PRNG, so every run measures the same work. */
function prng(seed) {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** A document of about `bytes` of JSON: records of ~1 KB plus a list of 1000 numbers. */
function bigDocument(bytes) {
  const filler = 'x'.repeat(900);
  const records = {};
  const count = Math.round(bytes / 1000);
  for (let i = 0; i < count; i++) records[`r${i}`] = { title: `record ${i}`, n: i, tags: ['a', 'b'], body: filler };
  return { records, list: Array.from({ length: 1000 }, (_, i) => i) };
}

function oneChange(rev, record) {
  return {
    id: `c${rev}`,
    rev,
    baseRev: rev - 1,
    createdAt: 0,
    committedAt: 1,
    ops: [
      { op: 'replace', path: `/records/${record}/title`, value: `renamed ${rev}` },
      { op: '@inc', path: `/records/${record}/n`, value: 1 },
      { op: 'add', path: `/records/${record}/tags/-`, value: 'c' },
    ],
  };
}

/** Median µs to apply one change to a document of `bytes`. */
function measureApply(bytes, runs) {
  const state = bigDocument(bytes);
  const records = Object.keys(state.records).length;
  const samples = [];
  for (let i = 0; i <= runs; i++) {
    const change = oneChange(i + 1, `r${(i * 7919) % records}`);
    const elapsed = time(() => applyCommittedChanges({ state, rev: i }, [change], []));
    if (i > 0) samples.push(elapsed); // the first run is the warm-up
  }
  return median(samples);
}

/** `count` sequential changes with 3 interacting ops each (valid in spirit, not applied here). */
function changes(count, prefix, random, baseRev) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const ops = [];
    for (let k = 0; k < 3; k++) {
      switch (random(6)) {
        case 0:
          ops.push({ op: 'add', path: `/list/${random(1000)}`, value: i });
          break;
        case 1:
          ops.push({ op: 'remove', path: `/list/${random(1000)}` });
          break;
        case 2:
          ops.push({ op: 'replace', path: `/list/${random(1000)}`, value: i });
          break;
        case 3:
          ops.push({ op: 'replace', path: `/records/r${random(200)}/title`, value: `${prefix}${i}` });
          break;
        case 4:
          ops.push({ op: '@inc', path: `/records/r${random(200)}/n`, value: 1 });
          break;
        default:
          ops.push({ op: 'replace', path: `/other/${prefix}${i}`, value: k });
      }
    }
    out.push({ id: `${prefix}${i}`, rev: baseRev + i + 1, baseRev, createdAt: 0, committedAt: prefix === 's' ? 1 : 0, ops });
  }
  return out;
}

/** Median µs to rebase `pending` local changes over `server` server changes. */
function measureRebase(server, pending, runs) {
  const samples = [];
  for (let i = 0; i <= runs; i++) {
    const random = prng(1000 + i);
    const serverChanges = changes(server, 's', random, 10);
    const local = changes(pending, 'l', random, 10);
    const elapsed = time(() => rebaseChanges(serverChanges, local));
    if (i > 0) samples.push(elapsed);
  }
  return median(samples);
}

export async function main() {
  const runs = 5;
  const apply10 = measureApply(10_000_000, 9);
  const apply100 = measureApply(100_000_000, 9);
  const rebase100 = measureRebase(100, 100, runs);
  const rebase1000 = measureRebase(1000, 1000, runs);
  const rows = [
    { measure: 'apply 1 change (3 ops)', small: '10 MB doc', 'µs (small)': apply10.toFixed(0), large: '100 MB doc', 'µs (large)': apply100.toFixed(0), growth: `×${(apply100 / apply10).toFixed(1)}` },
    {
      measure: 'rebase pending over server changes',
      small: '100 × 100',
      'µs (small)': rebase100.toFixed(0),
      large: '1000 × 1000',
      'µs (large)': rebase1000.toFixed(0),
      growth: `×${(rebase1000 / rebase100).toFixed(1)}`,
    },
  ];
  console.log('OT algorithms: median µs (apply: 9 runs; rebase: 5 runs), 10× the size in the "large" column');
  console.table(rows);
  return { algorithms: { apply10MB: apply10, apply100MB: apply100, rebase100x100: rebase100, rebase1000x1000: rebase1000 } };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
