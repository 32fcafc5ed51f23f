import { asyncScheduler, timer, type SchedulerLike, type Subscription } from 'rxjs';
import { steadyRetryDelay } from '../../net/errorPolicy.js';

/**
 * Per-doc timers that try a failed refresh of a followed document again (see `DocService.refresh`)
 * until one succeeds. A database that comes back after an outage meets every loaded document's
 * retry at once otherwise: the jitter spreads them. One timer per doc; `clear` after a success
 * (the next failure starts from the shortest delay again); `close` cancels every timer for good,
 * so none outlives the server. Time comes from the injected scheduler, so a spec drives it.
 *
 * ## Example
 * ```ts
 * const retries = new RefreshRetries((docId) => void service.refresh(docId, 'reload').catch(report), asyncScheduler);
 * retries.schedule('notes'); // tries again in 0.5–1 s
 * ```
 */
export class RefreshRetries {
  private readonly pending = new Map<string, { attempt: number; timer: Subscription }>();
  private closed = false;

  /**
   * @param retry tries the doc's refresh again (its failure calls `schedule` again)
   * @param scheduler where the delays run
   * @param random the jitter's source, in [0, 1)
   */
  constructor(
    private readonly retry: (docId: string) => void,
    private readonly scheduler: SchedulerLike = asyncScheduler,
    private readonly random: () => number = Math.random,
  ) {}

  /** Tries the doc again after the next delay of its streak of failures. */
  schedule(docId: string): void {
    if (this.closed) return;
    const previous = this.pending.get(docId);
    previous?.timer.unsubscribe();
    const attempt = previous?.attempt ?? 0;
    // The clients' ladder for what is retried for good (1 s × 2ⁿ, at most 30 s), each a random 50–100 % of it.
    const jittered = Math.round(steadyRetryDelay(attempt) * (0.5 + 0.5 * this.random()));
    this.pending.set(docId, { attempt: attempt + 1, timer: timer(jittered, this.scheduler).subscribe(() => this.retry(docId)) });
  }

  /** Cancels the doc's retry and forgets its streak (after a success, or nobody follows it). */
  clear(docId: string): void {
    this.pending.get(docId)?.timer.unsubscribe();
    this.pending.delete(docId);
  }

  /** Cancels every retry; later `schedule` calls do nothing. */
  close(): void {
    this.closed = true;
    for (const { timer } of this.pending.values()) timer.unsubscribe();
    this.pending.clear();
  }
}
