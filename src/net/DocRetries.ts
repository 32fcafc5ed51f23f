import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import { docRetryDelay } from './errorPolicy.js';

/**
 * Per-doc retry timers: a failed doc sync is retried after 1 s × 2ⁿ (≤ 30 s, 10 attempts, see
 * `docRetryDelay`), one timer per doc at a time; success, untrack and disconnect cancel it.
 * Time comes from the injected scheduler, so a TestScheduler drives it.
 *
 * @example
 * const retries = new DocRetries(docId => syncRequests.next(docId), asyncScheduler);
 * retries.schedule('notes'); // runs a sync of 'notes' in 1 s
 */
export class DocRetries {
  private readonly pending = new Map<string, { attempt: number; timer: Subscription }>();

  constructor(
    private readonly retry: (docId: string) => void,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** True while a retry of the doc is scheduled or its attempts were counted (reported once per streak). */
  has(docId: string): boolean {
    return this.pending.has(docId);
  }

  /** Schedules the doc's next retry; gives up silently once the attempts are used up. */
  schedule(docId: string): void {
    const attempt = this.pending.get(docId)?.attempt ?? 0;
    this.pending.get(docId)?.timer.unsubscribe();
    const delay = docRetryDelay(attempt);
    if (delay === undefined) return;
    this.pending.set(docId, { attempt: attempt + 1, timer: timer(delay, this.scheduler).subscribe(() => this.retry(docId)) });
  }

  /** Cancels the doc's retry and forgets its attempts (after a success, or an untrack). */
  clear(docId: string): void {
    this.pending.get(docId)?.timer.unsubscribe();
    this.pending.delete(docId);
  }

  /** Cancels every retry (disconnect, destroy). */
  clearAll(): void {
    for (const { timer } of this.pending.values()) timer.unsubscribe();
    this.pending.clear();
  }
}
