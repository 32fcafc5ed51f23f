import type { Change, JSONPatchOp } from '../types.js';
import { createId } from './createId.js';

/** Fields of a new change besides its ops. */
export interface CreateChangeOptions {
  /** The committed rev the change is authored on. */
  baseRev: number;
  /** Provisional local rev (the store re-stamps it when the change is saved). */
  rev: number;
  /** Stable id to use (default: a fresh 12-char id). */
  id?: string | undefined;
  /** Mint time in ms. Required: algorithms read no clock, the caller passes its own (injectable) one. */
  createdAt: number;
  /** User metadata, spread as top-level keys; it never overrides the change's own fields. */
  metadata?: Record<string, unknown> | undefined;
}

/**
 * Creates a local change: `committedAt` is 0 until the server commits it. Pure but for the random
 * id: the time comes in as `createdAt`, so tests and replays stay deterministic.
 *
 * @example
 * const change = createChange([{ op: 'replace', path: '/title', value: 'Hi' }], { baseRev: 3, rev: 4, createdAt: Date.now(), metadata: { user: 'alice' } });
 * change.committedAt; // 0
 */
export function createChange(ops: JSONPatchOp[], options: CreateChangeOptions): Change {
  return {
    ...options.metadata,
    id: options.id ?? createId(),
    ops,
    baseRev: options.baseRev,
    rev: options.rev,
    createdAt: options.createdAt,
    committedAt: 0,
  };
}
