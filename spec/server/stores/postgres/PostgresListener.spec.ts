import { EventEmitter } from 'node:events';
import type { Client } from 'pg';
import { VirtualTimeScheduler } from 'rxjs';
import { PostgresListener } from '../../../../src/server/stores/postgres/PostgresListener.js';

/**
 * A pg client at the edge: it connects and answers LISTEN at once; a probe (`SELECT 1`) is
 * answered while `answers` is true and never once the flow went silent (no FIN, no RST).
 */
class FakeClient extends EventEmitter {
  answers = true;
  ended = false;
  readonly queries: string[] = [];
  async connect(): Promise<void> {}
  query(text: string): Promise<unknown> {
    this.queries.push(text);
    return text === 'SELECT 1' && !this.answers ? new Promise(() => undefined) : Promise.resolve({ rows: [] });
  }
  async end(): Promise<void> {
    this.ended = true;
  }
}

/** Lets the promises of the listener's steps settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PostgresListener', () => {
  // Found in review, fixed: a LISTEN connection that went silent was never noticed, and the
  // process served stale documents with no end (it only ever reads, so nothing failed).
  it('should take a connection that does not answer a probe in time for lost, reconnect and resync', async () => {
    const scheduler = new VirtualTimeScheduler();
    const clients: FakeClient[] = [];
    let resyncs = 0;
    const listener = new PostgresListener({
      client: () => {
        clients.push(new FakeClient());
        return clients[clients.length - 1] as unknown as Client;
      },
      channel: 'patches_rx',
      scheduler,
      onPayload: () => undefined,
      onResync: () => resyncs++,
      probeEveryMs: 30_000,
      probeTimeoutMs: 10_000,
    });
    await listener.start();
    const [first] = clients;
    /** Runs what is due up to `ms` of virtual time, then lets the promises it started settle. */
    const advanceTo = async (ms: number) => {
      scheduler.maxFrames = ms;
      scheduler.flush();
      await settle();
    };

    // Answered probes keep the connection.
    for (const ms of [30_000, 60_000, 90_000]) await advanceTo(ms);
    expect(first.queries.filter((q) => q === 'SELECT 1')).toHaveLength(3);
    expect(clients).toHaveLength(1);

    // The flow goes silent: the next probe waits 10 s, then the connection is dropped and replaced.
    first.answers = false;
    await advanceTo(120_000);
    expect(first.ended).toBe(false);
    await advanceTo(130_000);
    expect(first.ended).toBe(true);
    await advanceTo(130_100);
    expect(first.ended).toBe(true);
    expect(clients).toHaveLength(2);
    expect(clients[1].queries).toEqual(['LISTEN patches_rx']);
    expect(resyncs).toBe(1);
    await listener.close();
  });
});
