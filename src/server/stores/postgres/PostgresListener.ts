import type { Client } from 'pg';
import { exhaustMap, from, timeout, timer, type SchedulerLike, type Subscription } from 'rxjs';

/** Options of {@link PostgresListener}. */
export interface PostgresListenerOptions {
  /** Makes a new, unconnected client (one per connection attempt). */
  client: () => Client;
  /** The NOTIFY channel. */
  channel: string;
  /** Schedules reconnects. */
  scheduler: SchedulerLike;
  /** Receives every notification payload on the channel. */
  onPayload: (payload: string) => void;
  /** Called after a lost connection is back: notifications sent meanwhile are gone. */
  onResync: () => void;
  /** First reconnect delay in ms, doubled per failed attempt (default 100). */
  minDelayMs?: number;
  /** Longest reconnect delay in ms (default 5 000). */
  maxDelayMs?: number;
  /**
   * Ms between probes of the connection (default 30 000; 0 = none). It only ever reads, so one
   * that went silent (a NAT or firewall that dropped the flow without a FIN or RST) is noticed
   * only by asking it something: a probe not answered in `probeTimeoutMs` counts as a lost
   * connection, and the reconnect's `onResync` catches up what was missed.
   */
  probeEveryMs?: number;
  /** Ms a probe may wait for its answer (default 10 000). */
  probeTimeoutMs?: number;
}

/**
 * The LISTEN side of cross-process fan-out: one dedicated connection (a pooled one would be
 * handed to queries), re-established with capped exponential backoff until `close()`. NOTIFY is
 * not queued for absent listeners, so after every reconnect `onResync` tells the owner to catch
 * up from the revs it last saw.
 */
export class PostgresListener {
  private client: Client | undefined;
  private retry: Subscription | undefined;
  private probes: Subscription | undefined;
  private attempts = 0;
  private closed = false;

  /** @param options how to connect, what to listen to, whom to tell */
  constructor(private readonly options: PostgresListenerOptions) {}

  /** Connects and listens. @throws the connection error of this first attempt */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.closed = true;
    this.retry?.unsubscribe();
    this.probes?.unsubscribe();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = this.options.client();
    // Errors surface as 'error' and/or 'end'; both mean: start over on a new connection.
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel === this.options.channel && message.payload !== undefined) this.options.onPayload(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempts = 0;
    this.probe(client);
  }

  /** Asks the connection `SELECT 1` every `probeEveryMs`; no answer in `probeTimeoutMs` loses it. */
  private probe(client: Client): void {
    const { scheduler, probeEveryMs = 30_000, probeTimeoutMs = 10_000 } = this.options;
    if (probeEveryMs <= 0) return;
    this.probes = timer(probeEveryMs, probeEveryMs, scheduler)
      .pipe(exhaustMap(() => from(client.query('SELECT 1')).pipe(timeout({ first: probeTimeoutMs, scheduler }))))
      .subscribe({ error: () => this.lost(client) });
  }

  private lost(client: Client): void {
    if (this.closed || this.client !== client) return;
    this.probes?.unsubscribe();
    this.client = undefined;
    void client.end().catch(() => undefined);
    this.schedule();
  }

  private schedule(): void {
    const { minDelayMs = 100, maxDelayMs = 5_000, scheduler } = this.options;
    const delay = Math.min(maxDelayMs, minDelayMs * 2 ** this.attempts++);
    this.retry = scheduler.schedule(() => {
      if (this.closed) return;
      this.connect().then(
        () => {
          if (!this.closed) this.options.onResync();
        },
        () => this.schedule(),
      );
    }, delay);
  }
}
