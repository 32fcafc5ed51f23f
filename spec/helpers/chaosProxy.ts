import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { FaultProxy } from './faultProxy.js';

/** Counters of the faults a chaos proxy injected: oracles for "did the fuzz really hurt?". */
export interface ChaosStats {
  /** Connections accepted. */
  accepted: number;
  /** Connections destroyed by `dropAll()`. */
  dropped: number;
  /** Connections cut mid-chunk by an armed `killMidFrame()`. */
  killed: number;
  /** Chunks held back by a delay burst. */
  delayedChunks: number;
  /** Connections refused while `refuse` was set. */
  refused: number;
  /** Chunks swallowed by a black hole. */
  swallowed: number;
  /** Connections closed for asking for another path than the proxy's own (`ownPath`). */
  foreign: number;
}

/**
 * A `FaultProxy` that can also delay and cut: a loopback TCP proxy for one client. Delays keep
 * TCP order (each direction is a FIFO), and a mid-frame kill forwards only part of a chunk
 * before destroying both sides, so the peer sees a truncated WebSocket frame.
 */
export interface ChaosProxy extends FaultProxy {
  /** The upstream port; set it to follow a server that moved. Existing connections stay. */
  target: number;
  /** What was injected so far. */
  readonly stats: ChaosStats;
  /**
   * Arms a kill: the next chunk forwarded in either direction is cut after a random prefix
   * (at least one byte is withheld) and the connection is destroyed.
   */
  killMidFrame(): void;
  /**
   * For `durationMs`, every chunk (or only those going `direction`) is held for a random
   * 0..`maxDelayMs` ms; order within each direction is kept.
   */
  delayBurst(durationMs: number, maxDelayMs: number, direction?: Direction): void;
  /**
   * Turns every connection open now into a black hole (only `direction`, if given): its bytes are
   * swallowed and, when both ways are cut, a close on one side is not passed to the other, so
   * both sockets stay open as behind a dead NAT. New connections work normally.
   */
  blackHole(direction?: Direction): void;
  /** Ends every fault: no burst, no armed kill, not refusing; held chunks are released in order now. */
  calm(): void;
}

/** Which way bytes travel through the proxy. */
export type Direction = 'toServer' | 'toClient';

/** Options of {@link startChaosProxy}. */
export interface ChaosProxyOptions {
  /** The proxy's own seeded random source (cut points and delays). */
  random: () => number;
  /** Clock for delay bursts (default `Date.now`). */
  now?: () => number;
  /**
   * WebSocket clients only: `url` gets a path of its own, and a connection whose HTTP request asks
   * for another path is closed before a byte of it reaches the target, and never counted in
   * `connections`. On a shared machine another process may still be reconnecting to the port the
   * proxy was given (a client whose server closed, never destroyed); without this its upgrade went
   * through to the target and the pair stayed open for good, a connection the proxy's own client
   * never made (fuzz31: "following clients N hold a connection").
   */
  ownPath?: boolean;
}

interface Held {
  chunk: Buffer;
  due: number;
}

/** One direction of a connection: a FIFO of chunks, each released no earlier than its `due`. */
class Lane {
  private readonly held: Held[] = [];
  private lastDue = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dest: Socket,
    private readonly forward: (dest: Socket, chunk: Buffer) => void,
    private readonly now: () => number,
  ) {}

  push(chunk: Buffer, delay: number): void {
    if (delay <= 0 && this.held.length === 0) {
      this.forward(this.dest, chunk);
      return;
    }
    // A later chunk never overtakes an earlier one.
    this.lastDue = Math.max(this.now() + delay, this.lastDue);
    this.held.push({ chunk, due: this.lastDue });
    this.schedule();
  }

  /** Releases everything held, in order, now. */
  release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const { chunk } of this.held.splice(0)) this.forward(this.dest, chunk);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.held.length = 0;
  }

  private schedule(): void {
    if (this.timer || this.held.length === 0) return;
    const wait = Math.max(0, this.held[0].due - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = this.now();
      while (this.held.length > 0 && this.held[0].due <= now) this.forward(this.dest, this.held.shift()!.chunk);
      this.schedule();
    }, wait);
  }
}

interface Pair {
  client: Socket;
  upstream: Socket;
  lanes: Lane[];
  dead: boolean;
  /** Directions whose bytes are swallowed. */
  holes: Set<Direction>;
  /** Its request asked for the proxy's own path (always, without `ownPath`): counted in `connections`. */
  admitted: boolean;
}

/**
 * Starts a chaos proxy on 127.0.0.1 (a free port) forwarding to `127.0.0.1:targetPort`.
 *
 * ## Example
 * ```ts
 * const proxy = await startChaosProxy(server.port, { random: mulberry32(7) });
 * const sync = new PatchesSync(patches, proxy.url);
 * proxy.delayBurst(200, 50); // hold chunks up to 50 ms each for 200 ms
 * proxy.killMidFrame();      // the next chunk is cut in half and the connection dies
 * ```
 *
 * @param targetPort the server's port
 * @param options the seeded random source
 * @return the running proxy
 */
export async function startChaosProxy(targetPort: number, options: ChaosProxyOptions): Promise<ChaosProxy> {
  const { random } = options;
  const now = options.now ?? Date.now;
  const pairs = new Set<Pair>();
  const bytes = { toServer: 0, toClient: 0 };
  const stats: ChaosStats = { accepted: 0, dropped: 0, killed: 0, delayedChunks: 0, refused: 0, swallowed: 0, foreign: 0 };
  // Not from `random`: the seeded sequence of cuts and delays stays what it was.
  const path = options.ownPath ? `/chaos-${randomUUID()}` : '';
  const ownRequest = Buffer.from(`GET ${path}`);
  const faults = { refuse: false, target: targetPort, killArmed: false, burstUntil: 0, maxDelay: 0, direction: undefined as Direction | undefined };

  const destroy = (pair: Pair): void => {
    if (!pairs.delete(pair)) return;
    pair.dead = true;
    for (const lane of pair.lanes) lane.stop();
    pair.client.destroy();
    pair.upstream.destroy();
  };

  const delayFor = (direction: Direction): number => {
    if (now() >= faults.burstUntil || (faults.direction !== undefined && faults.direction !== direction)) return 0;
    stats.delayedChunks++;
    return Math.floor(random() * faults.maxDelay);
  };

  const server: Server = createServer(client => {
    if (faults.refuse) {
      stats.refused++;
      client.destroy();
      return;
    }
    stats.accepted++;
    const upstream = connect(faults.target, '127.0.0.1');
    const pair: Pair = { client, upstream, lanes: [], dead: false, holes: new Set(), admitted: !path };
    const forward = (dest: Socket, chunk: Buffer): void => {
      if (pair.dead) return;
      if (dest === upstream) bytes.toServer += chunk.length;
      else bytes.toClient += chunk.length;
      if (!faults.killArmed) {
        dest.write(chunk);
        return;
      }
      faults.killArmed = false;
      stats.killed++;
      pair.dead = true;
      const cut = chunk.length > 1 ? 1 + Math.floor(random() * (chunk.length - 1)) : 0;
      // Destroy only once the prefix reached the kernel, so the peer really gets half a frame.
      if (cut > 0) dest.write(chunk.subarray(0, cut), () => destroy(pair));
      else destroy(pair);
    };
    const toServer = new Lane(upstream, forward, now);
    const toClient = new Lane(client, forward, now);
    pair.lanes.push(toServer, toClient);
    pairs.add(pair);
    const pass = (lane: Lane, direction: Direction) => (chunk: Buffer) => {
      if (pair.holes.has(direction)) stats.swallowed++;
      else lane.push(chunk, delayFor(direction));
    };
    const toServerPass = pass(toServer, 'toServer');
    // With `ownPath`, the request's first bytes are held until they name the path (then its
    // query or a space follows), and anything else closes the connection unforwarded.
    let asked = Buffer.alloc(0);
    const admit = (chunk: Buffer) => {
      if (pair.admitted) return toServerPass(chunk);
      asked = Buffer.concat([asked, chunk]);
      const known = asked.subarray(0, ownRequest.length + 1);
      const next = known[ownRequest.length];
      if (!known.subarray(0, ownRequest.length).equals(ownRequest.subarray(0, known.length)) || (next !== undefined && next !== 0x20 && next !== 0x3f)) {
        stats.foreign++;
        destroy(pair);
        return;
      }
      if (next === undefined) return;
      pair.admitted = true;
      toServerPass(asked);
    };
    client.on('data', admit);
    upstream.on('data', pass(toClient, 'toClient'));
    for (const socket of [client, upstream]) {
      // Through a full black hole not even the close gets across: only this side goes.
      const end = () => (pair.holes.size === 2 && !(client.destroyed && upstream.destroyed) ? socket.destroy() : destroy(pair));
      socket.on('close', end);
      socket.on('error', end);
    }
  });

  const dropAll = (): void => {
    for (const pair of [...pairs]) {
      stats.dropped++;
      destroy(pair);
    }
  };

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `ws://127.0.0.1:${port}${path}`,
    get connections() {
      return [...pairs].filter(pair => pair.admitted).length;
    },
    get refuse() {
      return faults.refuse;
    },
    set refuse(value: boolean) {
      faults.refuse = value;
    },
    get target() {
      return faults.target;
    },
    set target(value: number) {
      faults.target = value;
    },
    bytes,
    stats,
    dropAll,
    killMidFrame() {
      faults.killArmed = true;
    },
    delayBurst(durationMs: number, maxDelayMs: number, direction?: Direction) {
      faults.burstUntil = now() + durationMs;
      faults.maxDelay = maxDelayMs;
      faults.direction = direction;
    },
    blackHole(direction?: Direction) {
      for (const pair of pairs) for (const way of direction ? [direction] : (['toServer', 'toClient'] as const)) pair.holes.add(way);
    },
    calm() {
      faults.refuse = false;
      faults.killArmed = false;
      faults.burstUntil = 0;
      for (const pair of pairs) for (const lane of pair.lanes) lane.release();
    },
    close() {
      dropAll();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
