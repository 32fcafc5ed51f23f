import { StatusError } from '../../src/errors.js';
import { ChangeBudgets, MIN_CHANGE_BUDGET } from '../../src/net/ChangeBudgets.js';

describe('ChangeBudgets', () => {
  const tooLarge = new StatusError(413, 'Change c1 is 400239 bytes, over the 150000-byte limit', { changeId: 'c1', scope: 'change' });

  it('should halve a doc\'s budget on a 413 scoped to a change, down to the 100 KB floor, and then say it cannot help', () => {
    const budgets = new ChangeBudgets(1_000_000);
    const seen: Array<number | undefined> = [];
    while (budgets.shrink('notes', tooLarge)) seen.push(budgets.of('notes'));
    expect(seen).toEqual([500_000, 250_000, 125_000, MIN_CHANGE_BUDGET]);
    expect(budgets.of('other')).toBe(1_000_000);
  });

  it('should bring the configured budget back on reset', () => {
    const budgets = new ChangeBudgets(1_000_000);
    budgets.shrink('notes', tooLarge);
    budgets.reset('notes');
    expect(budgets.of('notes')).toBe(1_000_000);
  });

  it('should not invent a budget, nor shrink for a 413 of another scope or another error', () => {
    expect(new ChangeBudgets(undefined).shrink('notes', tooLarge)).toBe(false);
    const budgets = new ChangeBudgets(1_000_000);
    expect(budgets.shrink('notes', new StatusError(413, 'frame too large', { scope: 'frame' }))).toBe(false);
    expect(budgets.shrink('notes', new StatusError(413, 'too large'))).toBe(false);
    expect(budgets.shrink('notes', new StatusError(500, 'oops', { scope: 'change' }))).toBe(false);
    expect(budgets.of('notes')).toBe(1_000_000);
  });

  it('should note the change each 413 names until reset, and say it can help at the floor while it names one not noted yet', () => {
    const budgets = new ChangeBudgets(MIN_CHANGE_BUDGET);
    expect(budgets.refused('notes')).toBeUndefined();
    expect(budgets.shrink('notes', tooLarge)).toBe(true);
    expect([...(budgets.refused('notes') ?? [])]).toEqual(['c1']);
    expect(budgets.shrink('notes', tooLarge)).toBe(false);
    expect(budgets.of('notes')).toBe(MIN_CHANGE_BUDGET);
    budgets.reset('notes');
    expect(budgets.refused('notes')).toBeUndefined();
  });
});
