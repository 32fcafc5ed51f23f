/**
 * Emits a value stream's new values so that every subscriber ends on the latest, even when a
 * subscriber sets a new value during an emission.
 *
 * A listener that reacts to a state by changing it (`disconnect()` when the connection opens, a
 * `change()` in `onUpdate`) calls `subject.next` inside `subject.next`: the inner emission runs to
 * its end first, so the subscribers after that listener get the newer value first and the older
 * one last, and keep it (behind a `distinctUntilChanged` they never see the newer one again). Here a
 * value set during an emission waits for the emission under way to end and is then emitted to
 * every subscriber: each gets the values in order, the latest last (of several set meanwhile, only
 * the latest). `latest` is the newest value at once, ahead of the subject while it waits.
 *
 * @example
 * const subject = new BehaviorSubject(0);
 * const emitter = new InOrderEmitter<number>(value => subject.next(value));
 * subject.subscribe(n => n === 1 && emitter.next(2));
 * subject.subscribe(n => console.log(n)); // 0, 1, 2
 * emitter.next(1);
 */
export class InOrderEmitter<T> {
  private last?: { value: T };
  private emitting = false;
  /** A value was set during the emission under way. */
  private due = false;
  /** `complete` was called during an emission: run once the values set meanwhile are out. */
  private completion?: () => void;

  /** @param emit Emits a value to every subscriber (a subject's `next`). */
  constructor(private readonly emit: (value: T) => void) {}

  /** The value last handed to `next` (`undefined` before the first). */
  get latest(): T | undefined {
    return this.last?.value;
  }

  /** Emits `value` now or, during an emission, once that emission is done. */
  next(value: T): void {
    this.last = { value };
    if (this.emitting) {
      this.due = true;
      return;
    }
    this.emitting = true;
    this.due = false;
    try {
      this.emit(value);
      while (this.due) {
        this.due = false;
        this.emit(this.last.value);
      }
    } finally {
      this.emitting = false;
    }
    const completion = this.completion;
    this.completion = undefined;
    completion?.();
  }

  /**
   * Ends the stream with `done` (a subject's `complete`): at once, or, during an emission, once
   * the values set meanwhile are out (a listener that tears everything down as it hears a value
   * must not leave the subscribers after it on an older one).
   */
  complete(done: () => void): void {
    if (this.emitting) this.completion = done;
    else done();
  }
}
