import { replyWithHistory } from '../../src/server/reloadHistory.js';
import type { Change } from '../../src/types.js';

const committed = (id: string, rev: number): Change => ({ id, baseRev: rev - 1, rev, ops: [{ op: 'add', path: `/${id}`, value: rev }], createdAt: 1, committedAt: 2 });

describe('replyWithHistory', () => {
  it('should answer a re-based batch with the whole history, its own changes in it, still saying docReloadRequired', () => {
    const history = [committed('first', 1), committed('second', 2), committed('own', 3), committed('later', 4)];
    expect(replyWithHistory({ changes: [history[2]], docReloadRequired: true }, history)).toEqual({ changes: history, docReloadRequired: true });
  });

  it('should answer a re-based batch that committed nothing (every change became empty) with the history alone', () => {
    const history = [committed('first', 1)];
    expect(replyWithHistory({ changes: [], docReloadRequired: true }, history)).toEqual({ changes: history, docReloadRequired: true });
  });

  it('should leave every other reply as it is', () => {
    const reply = { changes: [committed('own', 2)] };
    expect(replyWithHistory(reply, [committed('first', 1), committed('own', 2)])).toBe(reply);
  });

  it('should leave the reply as it is when the history lacks one of its changes (the doc was begun again meanwhile)', () => {
    const reply = { changes: [committed('own', 3)], docReloadRequired: true as const };
    expect(replyWithHistory(reply, [committed('other', 1)])).toBe(reply);
    expect(replyWithHistory(reply, [])).toBe(reply);
  });
});
