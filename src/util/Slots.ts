/** Where a task waits for a slot: ahead of (`first`) or behind (`later`) the `later` tasks already waiting. */
export type SlotPriority = 'first' | 'later';

/**
 * Runs tasks at most `limit` at a time. A task that finds every slot taken waits for one: the
 * `first` ones in arrival order, then the `later` ones in arrival order, so a task someone waits
 * on (a commit's load) is not queued behind a batch of background ones (a `subscribe` of
 * thousands of documents).
 *
 * @example
 * const loads = new Slots(4);
 * const stored = await loads.run(() => store.loadDoc(docId), 'later');
 */
export class Slots {
  private running = 0;
  private readonly waiting: Record<SlotPriority, Fifo<() => void>> = { first: new Fifo(), later: new Fifo() };

  /** @param limit most tasks running at once (a positive integer; anything else throws a `RangeError`) */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Slots: the limit must be a positive integer, not ${limit}`);
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.first.size + this.waiting.later.size;
  }

  /** Runs `task` once a slot is free; resolves or rejects with its result, and frees the slot when it settles. */
  async run<R>(task: () => Promise<R>, priority: SlotPriority = 'first'): Promise<R> {
    // A freed slot is handed to the next task as it is: `running` counts it still.
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((go) => this.waiting[priority].push(go));
    try {
      return await task();
    } finally {
      const next = this.waiting.first.shift() ?? this.waiting.later.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** A queue whose `shift` does not move the rest each time (`Array.shift` does: a herd of subscribes queues tens of thousands of loads). */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

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
