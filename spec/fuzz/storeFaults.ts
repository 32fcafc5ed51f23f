import type { Rng } from './random.js';
import type { StoreMethod } from './recordingStore.js';

/**
 * Store calls that fail now and then (`ConvergenceOptions.storeFaults`), as IndexedDB's do when a
 * transaction is aborted (the browser's quota, a tab closing, `AbortError`): each call of
 * `FAULTABLE_STORE_METHODS` a client's `RecordingStore` makes throws, with probability `rate`,
 * an `AbortError` instead of running (so nothing of it is written). Nothing fails once
 * {@link calm} is called.
 *
 * The oracle allows such an error to reach `onError` (the error policy's `retry`: the doc shows
 * 'error', the failure is reported, the doc's sync is retried with backoff), however the library
 * wrapped it, and nothing else: {@link caused} looks for the very error object thrown in the
 * reported error's `cause` chain.
 *
 * ## Example
 * ```ts
 * const faults = new StoreFaults(0.03);
 * const store = new RecordingStore(0, new InMemoryStore(), { fault: faults.source(forkRng(seed, 'store-faults-0'), line => log(line)) });
 * ```
 */
export class StoreFaults {
  /** Faults injected, by method. */
  readonly injected: Partial<Record<StoreMethod, number>> = {};
  private readonly thrown = new WeakSet<Error>();
  private calmed = false;

  /** @param rate the probability that a faultable call fails */
  constructor(private readonly rate: number) {}

  /** Stops failing (the fuzz's calm phase: every fault off). */
  calm(): void {
    this.calmed = true;
  }

  /**
   * The `fault` option of one client's `RecordingStore`.
   *
   * @param random that client's own generator
   * @param note a line for the client's diagnostic log
   */
  source(random: Rng, note: (line: string) => void): (method: StoreMethod) => Error | undefined {
    return method => {
      if (this.calmed || !random.chance(this.rate)) return undefined;
      this.injected[method] = (this.injected[method] ?? 0) + 1;
      note(`✗ store fault injected in ${method}`);
      const error = Object.assign(new Error(`injected store fault in ${method}`), { name: 'AbortError' });
      this.thrown.add(error);
      return error;
    };
  }

  /** Whether `error` is, or was caused by, a fault this injected. */
  caused(error: unknown): boolean {
    for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
      if (this.thrown.has(e as Error)) return true;
    }
    return false;
  }

  /** Faults injected in all. */
  get count(): number {
    return Object.values(this.injected).reduce((sum, n) => sum + n, 0);
  }
}
