import { Observable, asyncScheduler } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';

/** Options of `batchRequests`. */
export interface BatchRequestsConfig {
  /** Most items in one group; a full group goes at once. */
  maxLength: number;
  /** Whether an item that finds no group open must wait for others (true while a reply is awaited); when false it goes alone, at once. */
  hold: () => boolean;
  /** Ms a group stays open for more items (default 0: until the scheduler's next turn). */
  window?: number;
  /** Scheduler that closes a group. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Groups items that arrive close together, so they can travel as one JSON-RPC batch frame.
 *
 * Nagle's rule for requests: an item that arrives while nothing is awaited goes out alone and at
 * once (a typing user's commit waits for no timer); one that arrives while `hold()` says a reply
 * is awaited opens a group, and everything arriving until the `window` closes on the scheduler
 * (or the group holds `maxLength` items) goes with it. A resync that asks N docs at once thus
 * costs a frame or two instead of N. Completing the source emits the open group first; errors
 * pass straight through.
 *
 * ## Example
 * ```ts
 * import { Subject } from 'rxjs';
 * import { batchRequests } from './operators/batchRequests.js';
 *
 * let awaiting = 0;
 * const requests = new Subject<string>();
 * requests.pipe(batchRequests({ maxLength: 100, hold: () => awaiting > 0 })).subscribe((group) => console.log(group));
 * requests.next('a'); // ['a'] at once: nothing awaited
 * awaiting = 1;
 * requests.next('b');
 * requests.next('c'); // ['b', 'c'] on the scheduler's next turn
 * ```
 *
 * @param config `maxLength`, `hold`, and the `window` on its `scheduler`.
 * @return A function that returns an Observable of groups of the source's items, in order.
 */
export function batchRequests<T>(config: BatchRequestsConfig): OperatorFunction<T, T[]> {
  const { maxLength, hold, window = 0, scheduler = asyncScheduler } = config;
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let group: T[] | null = null;
      let timer: Subscription | null = null;

      const flush = (): void => {
        timer?.unsubscribe();
        timer = null;
        const items = group;
        group = null;
        if (items && items.length > 0) subscriber.next(items);
      };

      const subscription = source.subscribe({
        next: (item) => {
          if (group) {
            group.push(item);
            if (group.length >= maxLength) flush();
            return;
          }
          if (maxLength <= 1 || !hold()) {
            subscriber.next([item]);
            return;
          }
          group = [item];
          timer = scheduler.schedule(flush, window);
        },
        error: (error: unknown) => {
          timer?.unsubscribe();
          subscriber.error(error);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        timer?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
