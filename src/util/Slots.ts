/** Where a task waits for a slot: ahead of (`first`) or behind (`later`) the `later` tasks already waiting. */
export type SlotPriority = 'first' | 'later';

/** A task queued by {@link Slots.queue}: its result, and a way to move it ahead once someone waits on it. */
export interface QueuedTask<R> {
  /** Settles with the task's result. */
  result: Promise<R>;
  /** A `later` task still waiting joins the `first` ones, at their end (no effect otherwise). */
  hurry(): void;
}

/** A task waiting for a slot (in one queue, or two once hurried: it starts once, from the first). */
interface Waiter {
  go: () => void;
  started: boolean;
  hurried: boolean;
}

/**
 * Runs tasks at most `limit` at a time. A task that finds every slot taken waits for one: the
 * `first` ones in arrival order, then the `later` ones in arrival order, so a task someone waits
 * on (a commit's load) is not queued behind a batch of background ones (a `subscribe` of
 * thousands of documents); a `later` one someone comes to wait on is hurried to the `first` ones.
 *
 * @example
 * const loads = new Slots(4);
 * const stored = await loads.run(() => store.loadDoc(docId), 'later');
 */
export class Slots {
  private running = 0;
  private waitingCount = 0;
  private readonly waiting: Record<SlotPriority, Fifo<Waiter>> = { first: new Fifo(), later: new Fifo() };

  /** @param limit most tasks running at once (a positive integer; anything else throws a `RangeError`) */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Slots: the limit must be a positive integer, not ${limit}`);
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waitingCount;
  }

  /** Runs `task` once a slot is free; resolves or rejects with its result, and frees the slot when it settles. */
  run<R>(task: () => Promise<R>, priority: SlotPriority = 'first'): Promise<R> {
    return this.queue(task, priority).result;
  }

  /** As {@link run}, with a way to hurry the task while it waits. */
  queue<R>(task: () => Promise<R>, priority: SlotPriority = 'first'): QueuedTask<R> {
    let waiter: Waiter | undefined;
    const result = (async () => {
      // A freed slot is handed to the next task as it is: `running` counts it still.
      if (this.running < this.limit) this.running++;
      else {
        await new Promise<void>((go) => {
          waiter = { go, started: false, hurried: false };
          this.waitingCount++;
          this.waiting[priority].push(waiter);
        });
      }
      try {
        return await task();
      } finally {
        this.handOn();
      }
    })();
    const hurry = () => {
      if (!waiter || waiter.started || waiter.hurried || priority === 'first') return;
      waiter.hurried = true;
      this.waiting.first.push(waiter);
    };
    return { result, hurry };
  }

  /** Hands the slot of a task that settled to the next waiting one (a hurried one is in two queues: started once), or frees it. */
  private handOn(): void {
    let next: Waiter | undefined;
    do next = this.waiting.first.shift() ?? this.waiting.later.shift();
    while (next?.started);
    if (!next) {
      this.running--;
      return;
    }
    next.started = true;
    this.waitingCount--;
    next.go();
  }
}

/** A queue whose `shift` does not move the rest each time (`Array.shift` does: a herd of subscribes queues tens of thousands of loads). */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop what was taken once it is most of the array (kept filled, it would never empty).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
