import { WebSocket } from 'ws';
import type { Rng } from './random.js';
import { frameText, messages, type RpcMessage } from './wireLog.js';

/** The calls that get error replies: every call a doc's sync makes and waits for (`unsubscribe` is fire-and-forget, `getCapabilities` and `ping` belong to the connection). */
export const FAULTED_METHODS: readonly string[] = ['commitChanges', 'getDoc', 'getChangesSince', 'subscribe', 'deleteDoc'];

/**
 * The error replies injected: 503 (the server is restarting: `transient` in the error policy,
 * retried quietly), 500 (a server fault) and -32000 (a JSON-RPC server error), both `retry`:
 * the doc shows 'error', it is reported once and retried with backoff.
 */
const CODES = [503, 500, -32000] as const;

/** Where the error reply takes the place of the real one. */
type When = 'before' | 'after';

/**
 * Server error replies on a socket that stays open (`ConvergenceOptions.serverErrors`): each call
 * of {@link FAULTED_METHODS} is, with probability `rate`, answered with 503, 500 or -32000 either
 * `before` it reaches the server (the request is taken out of its frame and answered here: the
 * server never saw it) or `after` (the server did the work, committed or subscribed, and the
 * reply the client gets is the error). Nothing is injected once {@link calm} is called.
 *
 * The oracle allows exactly what the error policy (`src/net/errorPolicy.ts`) says may be reported:
 * an injected 500 or -32000 (`retry`: reported once, then retried), never an injected 503
 * (`transient`: quiet unless ten retries in a row fail, which at the fuzz's rates does not
 * happen), and only an error this injector made ({@link reportable} knows each one by message).
 *
 * ## Example
 * ```ts
 * const errors = new ServerErrors(0.04, forkRng(seed, 'server-errors'));
 * const wire = new WireLog(errors); // installs it on every socket it records
 * ```
 */
export class ServerErrors {
  /** Injected replies by code and by when (`before`/`after` the server saw the request). */
  readonly stats: Record<`${(typeof CODES)[number]}` | When, number> = { 503: 0, 500: 0, '-32000': 0, before: 0, after: 0 };
  /** Messages of the injected replies the policy may report (500, -32000): each is unique. */
  private readonly reportableMessages = new Set<string>();
  private calmed = false;
  private serial = 0;

  /**
   * @param rate the probability that a call of {@link FAULTED_METHODS} gets an error reply
   * @param random the injector's own generator (not the script's)
   */
  constructor(
    private readonly rate: number,
    private readonly random: Rng,
  ) {}

  /** Stops injecting (the fuzz's calm phase: every fault off). */
  calm(): void {
    this.calmed = true;
  }

  /** Whether `error` (as `onError` got it) is an injected reply the error policy may report: a 500 or -32000 this injector made. */
  reportable(error: Error): boolean {
    const code = (error as { code?: unknown }).code;
    return ((error.name === 'StatusError' && code === 500) || (error.name === 'JSONRPCError' && code === -32000)) && this.reportableMessages.has(error.message);
  }

  /**
   * Injects error replies on `socket`: wraps its `send` (a request answered `before` is taken out
   * of its frame) and its `emit` (an `after` reply replaces the server's; every listener, the
   * client's and the wire log's, sees the error). Install it before anything else wraps `send`,
   * so a recorder sees every request the client made.
   *
   * @param socket the client's socket
   * @param note a line for the client's diagnostic log
   * @param swallowed the server's real reply an `after` error took the place of (what it carried did happen)
   */
  install(socket: WebSocket, note: (line: string) => void, swallowed: (reply: RpcMessage) => void): void {
    const replaced = new Map<unknown, RpcMessage['error']>();
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    const answer = (id: unknown, error: RpcMessage['error']) => emit('message', Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, error })), false);

    (socket as { emit: typeof emit }).emit = (event, ...args) => {
      if (event !== 'message' || replaced.size === 0) return emit(event, ...args);
      const frame = messages(args[0]);
      const replies = frame.filter(m => m.method === undefined && replaced.has(m.id));
      if (replies.length === 0) return emit(event, ...args);
      for (const reply of replies) {
        swallowed(reply);
        note(`✗ reply #${String(reply.id)} replaced by ${JSON.stringify(replaced.get(reply.id))}`);
      }
      // Each message of the frame on its own: a batch reply's order is free (JSON-RPC §6).
      let handled = false;
      for (const m of frame) {
        const error = m.method === undefined ? replaced.get(m.id) : undefined;
        replaced.delete(m.id);
        handled = (error ? answer(m.id, error) : emit('message', Buffer.from(JSON.stringify(m)), false)) || handled;
      }
      return handled;
    };

    const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
    (socket as { send: typeof send }).send = (data, ...rest) => {
      if (this.calmed || socket.readyState !== WebSocket.OPEN) return send(data, ...rest);
      const frame = messages(data);
      const kept: RpcMessage[] = [];
      for (const m of frame) {
        const fault = m.id !== undefined && FAULTED_METHODS.includes(String(m.method)) ? this.draw(String(m.method)) : undefined;
        if (!fault) kept.push(m);
        else if (fault.when === 'after') {
          kept.push(m);
          replaced.set(m.id, fault.error);
        } else {
          note(`✗ #${String(m.id)} ${String(m.method)} answered ${JSON.stringify(fault.error)} before reaching the server`);
          // A moment later, as a reply would come; a socket closed meanwhile fails the call anyway.
          setTimeout(() => socket.readyState === WebSocket.OPEN && answer(m.id, fault.error), 1);
        }
      }
      if (kept.length === frame.length) return send(data, ...rest);
      if (kept.length > 0) send(JSON.stringify(frameText(data)?.trimStart().startsWith('[') ? kept : kept[0]), ...rest);
    };
  }

  /** Whether this call gets an error reply, and which. */
  private draw(method: string): { when: When; error: { code: number; message: string } } | undefined {
    if (this.random() >= this.rate) return undefined;
    const code = this.random.pick(CODES);
    const when: When = this.random.chance(0.5) ? 'before' : 'after';
    this.stats[code]++;
    this.stats[when]++;
    const message = `injected ${code} #${++this.serial} on ${method} (${when} the server)`;
    if (code !== 503) this.reportableMessages.add(message);
    return { when, error: { code, message } };
  }
}
