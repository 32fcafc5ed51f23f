import { timer, type SchedulerLike, type Subscription } from 'rxjs';
import { DOC_RETRY, docRetryDelay } from './errorPolicy.js';

/** Background re-probe delays once quick retries cannot help (protocol §5.3), jittered to 80–100 %. */
export const DOC_REPROBE = { retryable: 5 * 60_000, terminal: 10 * 60_000 } as const;

/** What `schedule` did: a quick retry, or the attempts were used up just now (the error is reported then) or before. */
export type RetryOutcome = 'scheduled' | 'exhausted' | 'still-exhausted';

/**
 * Per-doc retry timers: a failed doc sync is retried after 1 s × 2ⁿ (≤ 30 s, 10 attempts, see
 * `docRetryDelay`); once those are used up, and after an error retrying cannot fix, it is probed
 * again in the background every 5 (10) minutes, so a doc whose server got well again syncs without
 * a reconnect or a new edit. One timer per doc at a time; success, untrack and disconnect cancel
 * it. Time comes from the injected scheduler, so a TestScheduler drives it.
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
    private readonly random: () => number = Math.random,
  ) {}

  /** True while a retry of the doc is scheduled or its attempts were counted (reported once per streak). */
  has(docId: string): boolean {
    return this.pending.has(docId);
  }

  /** Schedules the doc's next quick retry, or, once they are used up, a background re-probe. */
  schedule(docId: string): RetryOutcome {
    const attempt = this.pending.get(docId)?.attempt ?? 0;
    const delay = docRetryDelay(attempt);
    if (delay !== undefined) {
      this.set(docId, attempt + 1, delay);
      return 'scheduled';
    }
    this.set(docId, attempt + 1, this.jittered(DOC_REPROBE.retryable));
    return attempt === DOC_RETRY.maxAttempts ? 'exhausted' : 'still-exhausted';
  }

  /** Probes the doc again in ~10 minutes: an error retrying cannot fix may have been fixed on the server meanwhile. */
  probeLater(docId: string): void {
    this.set(docId, this.pending.get(docId)?.attempt ?? 0, this.jittered(DOC_REPROBE.terminal));
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

  private set(docId: string, attempt: number, delay: number): void {
    this.pending.get(docId)?.timer.unsubscribe();
    this.pending.set(docId, { attempt, timer: timer(delay, this.scheduler).subscribe(() => this.retry(docId)) });
  }

  private jittered(delay: number): number {
    return Math.round(delay * (0.8 + 0.2 * this.random()));
  }
}
