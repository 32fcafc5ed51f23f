/** Where a task waits for a slot: ahead of (`first`) or behind (`later`) the `later` tasks already waiting. */
export type SlotPriority = 'first' | 'later';

/** A task queued by {@link Slots.queue}: its result, and a way to move it ahead once someone waits on it. */
export interface QueuedTask<R> {
  /** Settles with the task's result. */
  result: Promise<R>;
  /** A `later` task still waiting joins the `first` ones, at their end (no effect otherwise). */
  hurry(): void;
  /**
   * A task still waiting leaves the queue and never runs: `result` rejects with a
   * {@link TaskCancelled}. @return whether it left (false once it started, or left already)
   */
  cancel(): boolean;
}

/** What the result of a task cancelled while it waited rejects with. */
export class TaskCancelled extends Error {
  constructor() {
    super('Cancelled while it waited for a slot');
    this.name = 'TaskCancelled';
  }
}

/** A task waiting for a slot (in one queue, or two once hurried: it starts once, from the first). */
interface Waiter {
  go: () => void;
  drop: (error: Error) => void;
  /** Started or cancelled: passed over where it still stands in a queue. */
  gone: boolean;
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
        await new Promise<void>((go, drop) => {
          waiter = { go, drop, gone: false, hurried: false };
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
      if (!waiter || waiter.gone || waiter.hurried || priority === 'first') return;
      waiter.hurried = true;
      this.waiting.first.push(waiter);
    };
    const cancel = () => {
      if (!waiter || waiter.gone) return false;
      // It never took a slot: nothing to hand on.
      waiter.gone = true;
      this.waitingCount--;
      waiter.drop(new TaskCancelled());
      return true;
    };
    return { result, hurry, cancel };
  }

  /** Hands the slot of a task that settled to the next waiting one (a hurried one is in two queues: started once; a cancelled one is passed over), or frees it. */
  private handOn(): void {
    let next: Waiter | undefined;
    do next = this.waiting.first.shift() ?? this.waiting.later.shift();
    while (next?.gone);
    if (!next) {
      this.running--;
      return;
    }
    next.gone = true;
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
