import { VirtualAction, VirtualTimeScheduler, type SchedulerAction, type Subscription } from 'rxjs';

/** The listener's probe period (`PostgresListener`'s `probeEveryMs` default): never run by `flush`. */
const PROBE_EVERY_MS = 30_000;

/**
 * A scheduler for `PostgresServerStore`'s `scheduler` option that holds the LISTEN connection's
 * reconnect until the spec calls `flush()`: a LISTEN outage exactly as long as the spec needs
 * (the connection itself is cut for real, e.g. with `pg_terminate_backend`). Its probes (30 s
 * apart) never run.
 */
export class HeldReconnects extends VirtualTimeScheduler {
  private queued: (() => void) | undefined;
  /** Resolves once a reconnect waits: the listener has noticed that its connection is gone. */
  readonly reconnectQueued = new Promise<void>((resolve) => (this.queued = resolve));

  constructor() {
    // `flush` runs what is due within 5 s of virtual time (the longest reconnect delay), never a probe.
    super(VirtualAction, 5_000);
  }

  override schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    if (delay < PROBE_EVERY_MS) this.queued?.();
    return super.schedule(work, delay, state);
  }
}
