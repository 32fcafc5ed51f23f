import { Slots, TaskCancelled } from '../../src/util/Slots.js';

describe('Slots', () => {
  /** Tasks that settle when the spec says: `started` lists them in the order they began. */
  function gated() {
    const started: string[] = [];
    const settle = new Map<string, (fail?: boolean) => void>();
    const task = (name: string) => () =>
      new Promise<string>((resolve, reject) => {
        started.push(name);
        settle.set(name, (fail) => (fail ? reject(new Error(`${name} failed`)) : resolve(name)));
      });
    return { started, task, settle: (name: string, fail?: boolean) => settle.get(name)!(fail) };
  }
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('should run at most the limit at once, the first ones waiting ahead of the later ones, each in arrival order', async () => {
    const slots = new Slots(2);
    const { started, settle, task } = gated();
    const runs = [
      slots.run(task('a')),
      slots.run(task('b'), 'later'),
      slots.run(task('later1'), 'later'),
      slots.run(task('later2'), 'later'),
      slots.run(task('first1')),
      slots.run(task('first2'), 'first'),
    ];
    await turn();
    expect(started).toEqual(['a', 'b']);
    expect(slots.queued).toBe(4);
    for (const name of ['a', 'b', 'first1', 'first2', 'later1']) {
      settle(name);
      await turn();
    }
    expect(started).toEqual(['a', 'b', 'first1', 'first2', 'later1', 'later2']);
    settle('later2');
    await expect(Promise.all(runs)).resolves.toEqual(['a', 'b', 'later1', 'later2', 'first1', 'first2']);
    expect(slots.queued).toBe(0);
  });

  it('should move a waiting later task to the end of the first ones when hurried, and run it once', async () => {
    const slots = new Slots(1);
    const { started, settle, task } = gated();
    const runs = [slots.run(task('a')), slots.run(task('later1'), 'later'), slots.run(task('later2'), 'later')];
    const hurried = slots.queue(task('later3'), 'later');
    runs.push(slots.run(task('first1')));
    hurried.hurry();
    hurried.hurry();
    expect(slots.queued).toBe(4);
    for (const name of ['a', 'first1', 'later3', 'later1']) {
      settle(name);
      await turn();
    }
    expect(started).toEqual(['a', 'first1', 'later3', 'later1', 'later2']);
    // Started: hurrying it again changes nothing, and its stale place in the later queue is passed over.
    hurried.hurry();
    settle('later2');
    await expect(Promise.all([...runs, hurried.result])).resolves.toEqual(['a', 'later1', 'later2', 'first1', 'later3']);
    expect(started).toHaveLength(5);
    expect(slots.queued).toBe(0);
    // The slot is free again: a new task starts at once.
    void slots.run(task('b'));
    expect(started.at(-1)).toBe('b');
  });

  it('should drop a cancelled task that waits, never run it, and pass over its place; a started one is not cancelled', async () => {
    const slots = new Slots(1);
    const { started, settle, task } = gated();
    const running = slots.queue(task('a'), 'later');
    const dropped = slots.queue(task('later1'), 'later');
    const hurried = slots.queue(task('later2'), 'later');
    const next = slots.run(task('later3'), 'later');
    hurried.hurry();
    expect(slots.queued).toBe(3);
    expect([dropped.cancel(), hurried.cancel(), dropped.cancel(), running.cancel()]).toEqual([true, true, false, false]);
    expect(slots.queued).toBe(1);
    await expect(dropped.result).rejects.toThrow(TaskCancelled);
    await expect(hurried.result).rejects.toThrow('Cancelled while it waited for a slot');
    // Hurrying a cancelled task changes nothing.
    hurried.hurry();
    settle('a');
    await turn();
    expect(started).toEqual(['a', 'later3']);
    settle('later3');
    await expect(Promise.all([running.result, next])).resolves.toEqual(['a', 'later3']);
    expect(slots.queued).toBe(0);
    // Every slot is free again: a new task starts at once.
    void slots.run(task('b'));
    expect(started).toEqual(['a', 'later3', 'b']);
  });

  it('should free the slot of a task that failed, and reject its run with the failure', async () => {
    const slots = new Slots(1);
    const { started, settle, task } = gated();
    const failing = slots.run(task('a'));
    const next = slots.run(task('b'));
    await turn();
    settle('a', true);
    await expect(failing).rejects.toThrow('a failed');
    await turn();
    expect(started).toEqual(['a', 'b']);
    settle('b');
    await expect(next).resolves.toBe('b');
  });

  it('should start a task at once while a slot is free (in the same turn)', () => {
    const slots = new Slots(1);
    const { started, task } = gated();
    void slots.run(task('a'));
    expect(started).toEqual(['a']);
  });

  it('should run thousands of waiting tasks each once, in arrival order', async () => {
    const slots = new Slots(1);
    const order: number[] = [];
    const runs = Array.from({ length: 5000 }, (_, i) => slots.run(async () => order.push(i), 'later'));
    await Promise.all(runs);
    expect(order).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it.each([0, 1.5, Number.NaN])('should refuse a limit of %p with a RangeError', (limit) => {
    expect(() => new Slots(limit)).toThrow(new RangeError(`Slots: the limit must be a positive integer, not ${limit}`));
  });
});
