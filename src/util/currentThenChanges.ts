import { Observable, type BehaviorSubject } from 'rxjs';

/**
 * A `BehaviorSubject` as its readers see it: the current value, then each change, and once the
 * subject has completed, its last value, then `complete`. A completed `BehaviorSubject` gives a late
 * subscriber `complete` alone (an async pipe rendered again after its doc closed showed nothing,
 * and `toSignal(…, { requireSync: true })` threw). Readers get no `next` to call either: a piped
 * Subject is an `AnonymousSubject` whose `next` reaches the subject.
 *
 * @example
 * const state = new BehaviorSubject(1);
 * state.complete();
 * currentThenChanges(state).subscribe(console.log); // 1, then complete
 */
export function currentThenChanges<T>(subject: BehaviorSubject<T>): Observable<T> {
  return new Observable<T>(subscriber => {
    // A live subject emits its current value as it is subscribed; a completed one only completes.
    let emitted = false;
    return subject.subscribe({
      next: value => {
        emitted = true;
        subscriber.next(value);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        if (!emitted) subscriber.next(subject.getValue());
        subscriber.complete();
      },
    });
  });
}
