import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isLWWServerChange } from '../../../src/algorithms/lww/isLWWServerChange.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';
import { arbitraryOp } from '../../helpers/arbitraryOps.js';

type Msg = { id?: number; method?: string; params?: { docId?: string; changes?: Change[] }; result?: unknown };

/**
 * Every change a @dabble/patches server sent in the recorded session (`frames.jsonl`): commit
 * replies, broadcasts, `getDoc` envelopes and `getChangesSince` replies, with the doc they are of
 * (`smoke-ot` and `smoke-del` are OT docs, `lww-smoke` the LWW one).
 */
function recordedServerChanges(): Array<{ docId: string; change: Change }> {
  const frames = readFileSync(join(__dirname, '../../server/fixtures/frames.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map(line => JSON.parse(line) as { conn: string; dir: string; msg: Msg });
  const docOf = new Map<string, string>();
  const found: Array<{ docId: string; change: Change }> = [];
  for (const { conn, dir, msg } of frames) {
    if (dir === 'c2s') {
      // Ids count per connection: a reply is matched to its request by both.
      if (msg.id !== undefined && Array.isArray(msg.params)) docOf.set(`${conn} ${msg.id}`, String(msg.params[0]));
      continue;
    }
    if (msg.method === 'changesCommitted') {
      for (const change of msg.params?.changes ?? []) found.push({ docId: msg.params!.docId!, change });
      continue;
    }
    const result = msg.result as { changes?: Change[] } | Change[] | undefined;
    // (A `subscribe` reply is a list too: of doc ids.)
    const changes = (Array.isArray(result) ? result : Array.isArray(result?.changes) ? result.changes : []).filter(c => Array.isArray((c as Change | null)?.ops));
    for (const change of changes) found.push({ docId: docOf.get(`${conn} ${msg.id}`)!, change });
  }
  return found;
}

const change = (ops: JSONPatchOp[], extra: Partial<Change> = {}): Change => ({ id: 'c', baseRev: 3, rev: 4, ops, createdAt: 1, committedAt: 2, ...extra });

describe('isLWWServerChange', () => {
  const recorded = recordedServerChanges();

  it('should take no change a @dabble/patches OT server sent for one, and every change its LWW server sent', () => {
    const ot = recorded.filter(({ docId }) => docId !== 'lww-smoke');
    const lww = recorded.filter(({ docId }) => docId === 'lww-smoke');
    // The session holds both kinds, in every reply shape (else this proves little).
    expect(ot.length).toBeGreaterThan(20);
    expect(lww.length).toBeGreaterThan(5);
    expect(ot.filter(({ change }) => isLWWServerChange(change))).toEqual([]);
    expect(lww.filter(({ change }) => !isLWWServerChange(change))).toEqual([]);
  });

  it('should take no OT change for one, whatever its ops (no OT server stamps an op with a rev)', () => {
    fc.assert(fc.property(fc.array(arbitraryOp, { maxLength: 4 }), ops => !isLWWServerChange(change(ops))));
  });

  it('should not take an LWW client\'s change committed into an OT doc for one (its ops carry a ts, but no rev)', () => {
    expect(isLWWServerChange(change([{ op: 'replace', path: '/title', value: 'x', ts: 1700000000000 }, { op: 'remove', path: '/old', ts: 1700000000000 }]))).toBe(false);
  });

  it('should not take a change with no ops, or with one op that is not a row, for one', () => {
    const row: JSONPatchOp = { op: 'replace', path: '/a', value: 1, ts: 5, rev: 4 };
    expect(isLWWServerChange(change([]))).toBe(false);
    expect(isLWWServerChange(change([row, { op: 'add', path: '/list/-', value: 1, ts: 5, rev: 4 }]))).toBe(false);
    expect(isLWWServerChange(change([row, { op: 'replace', path: '/b', value: 1, ts: 5 }]))).toBe(false);
    expect(isLWWServerChange(change([row, { op: 'replace', path: '/b', value: 1, ts: '5', rev: 4 } as unknown as JSONPatchOp]))).toBe(false);
  });

  it('should take a synthesised LWW catch-up (one change folding many revs, rows only) for one', () => {
    const rows: JSONPatchOp[] = [
      { op: 'replace', path: '/theme', value: 'light', ts: 1796607741032, rev: 4 },
      { op: 'remove', path: '/draft', ts: 1796607741234, rev: 5 },
      { op: 'replace', path: '/lang', value: 'de', ts: 1796607741436, rev: 6 },
    ];
    expect(isLWWServerChange(change(rows, { id: '6VblB', baseRev: 3, rev: 6 }))).toBe(true);
  });
});
