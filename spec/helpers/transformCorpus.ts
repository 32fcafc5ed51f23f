/**
 * Loads the recorded transform corpus (`../shared/spec/transform-corpus/`, beside the repo root)
 * and runs its cases through our functions the way its README says the reference was called.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { rebaseChanges } from '../../src/algorithms/rebaseChanges.js';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import { transformPatch } from '../../src/algorithms/transformPatch.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

/** The corpus folder: `shared/` sits beside the repo root (CI clones it there); TRANSFORM_CORPUS_DIR overrides. */
export const CORPUS_DIR = process.env.TRANSFORM_CORPUS_DIR ?? resolve(__dirname, '../../../shared/spec/transform-corpus');

/** The fields every case has, whatever its file. */
export interface CorpusCase {
  id: string;
  expected: unknown;
  kinds: string[];
  rel: string[];
  scenario?: string;
  [field: string]: unknown;
}

/** The three files and how one case of each is run (returns what is compared with `expected`). */
export const CORPUS_FILES = {
  transformPatch: (c: CorpusCase): unknown =>
    transformPatch(c.thisOps as JSONPatchOp[], c.otherOps as JSONPatchOp[], c.otherOpsFirst as boolean),
  rebase: (c: CorpusCase): unknown => rebaseChanges(c.server as Change[], c.local as Change[]),
  serverTransform: (c: CorpusCase): unknown => {
    const own = new Set(c.ownCommittedIds as string[]);
    const kept = transformIncomingChanges(c.committed as Change[], c.incoming as Change[], (change) => own.has(change.id));
    // Revs are left to the caller (the server); the reference numbers them currentRev+1….
    return kept.map((change, i) => ({ ...change, rev: (c.currentRev as number) + 1 + i }));
  },
} as const;

/** A corpus file's name. */
export type CorpusFile = keyof typeof CORPUS_FILES;

/** Every case of one file (line 1 is the meta line). */
export function loadCorpus(file: CorpusFile): CorpusCase[] {
  const lines = readFileSync(resolve(CORPUS_DIR, `${file}.jsonl`), 'utf8').split('\n').filter((line) => line.trim() !== '');
  return lines.slice(1).map((line) => JSON.parse(line) as CorpusCase);
}

/** The tags a case is grouped by in a failure report. */
export function tagsOf(c: CorpusCase): string[] {
  return [...c.kinds, ...c.rel, ...(c.scenario ? [`scenario:${c.scenario}`] : [])];
}

/**
 * Conformance as the corpus README defines it: deep equality where object key order does not
 * matter, a key whose value is `undefined` counts as absent, and array order matters.
 */
export function conforms(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => conforms(actual[i], e));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
    const ak = keys(a);
    const ek = keys(e);
    return ak.length === ek.length && ek.every((k) => k in a && conforms(a[k], e[k]));
  }
  return Object.is(actual, expected) || actual === expected;
}

/** Runs one case; an exception counts as a failure with its message. */
export function runCase(file: CorpusFile, c: CorpusCase): { ok: boolean; actual?: unknown; error?: string } {
  try {
    const actual = CORPUS_FILES[file](c);
    return { ok: conforms(actual, c.expected), actual };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
