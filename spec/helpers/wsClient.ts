import { WebSocket } from 'ws';

/** How long a wait for a frame may take before the spec fails. */
const WAIT_LIMIT_MS = 5000;

/** A decoded frame the server sent. */
export type Frame = Record<string, unknown>;

/**
 * A bare JSON-RPC test client over a real WebSocket: send hand-written frames, await the reply
 * by id or the next notification. Every received frame is kept in `received`, in order, so a
 * spec can also assert that something did NOT arrive before a later reply did.
 */
export interface WsTestClient {
  /** The underlying socket. */
  socket: WebSocket;
  /** Every frame received so far (parsed JSON; arrays stay arrays). */
  received: unknown[];
  /** Sends `{"jsonrpc":"2.0","id":<next>,"method","params"}` and resolves with the reply frame. */
  call(method: string, params?: unknown): Promise<Frame>;
  /** Sends a raw text frame (anything, even invalid JSON). */
  sendRaw(text: string | Buffer): void;
  /** Resolves with the first received frame (past or future) matching `predicate` that no earlier wait consumed; rejects once the socket closed without one. */
  next(predicate: (frame: unknown) => boolean): Promise<unknown>;
  /** The reply to request `id`. */
  reply(id: unknown): Promise<Frame>;
  /** The next notification of `method` (optionally for one docId). */
  notification(method: string, docId?: string): Promise<Frame>;
  /** Notifications of `method` received so far. */
  notifications(method?: string): Frame[];
  /** Resolves when the socket closes, with the close code. */
  closed: Promise<number>;
  /** Closes the socket and waits for it. */
  close(): Promise<void>;
}

/**
 * Opens a test client and waits until the socket is open.
 *
 * @param url the server url, e.g. `server.url`
 * @param protocols optional sub-protocols (carry a token)
 */
export async function connectClient(url: string, protocols?: string | string[]): Promise<WsTestClient> {
  const socket = new WebSocket(url, protocols);
  const received: unknown[] = [];
  const consumed = new Set<number>();
  const waiters: Array<{ predicate: (frame: unknown) => boolean; resolve: (frame: unknown) => void; fail: (error: Error) => void }> = [];
  let nextId = 1;
  let closedWith: number | undefined;

  const closed = new Promise<number>((resolve) =>
    socket.once('close', (code) => {
      closedWith = code;
      // No frame comes after the close: a wait fails now (its timer cleared) instead of holding the process for its limit.
      for (const waiter of waiters.splice(0)) waiter.fail(closedError(code, received));
      resolve(code);
    }),
  );
  socket.on('message', (data) => {
    const frame: unknown = JSON.parse(String(data));
    const index = received.push(frame) - 1;
    const waiter = waiters.findIndex((w) => w.predicate(frame));
    if (waiter !== -1) {
      consumed.add(index);
      waiters.splice(waiter, 1)[0].resolve(frame);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });

  const next = (predicate: (frame: unknown) => boolean): Promise<unknown> => {
    const index = received.findIndex((frame, i) => !consumed.has(i) && predicate(frame));
    if (index !== -1) {
      consumed.add(index);
      return Promise.resolve(received[index]);
    }
    // A guard, not a sleep: a frame that never comes fails the spec with a message instead of
    // the 20 s jest timeout.
    if (closedWith !== undefined) return Promise.reject(closedError(closedWith, received));
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (frame: unknown) => {
          clearTimeout(timer);
          resolve(frame);
        },
        fail: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no matching frame within ${WAIT_LIMIT_MS} ms; received: ${JSON.stringify(received).slice(0, 2000)}`));
      }, WAIT_LIMIT_MS);
      waiters.push(waiter);
    });
  };
  const isObject = (frame: unknown): frame is Frame => typeof frame === 'object' && frame !== null && !Array.isArray(frame);
  const reply = (id: unknown) => next((frame) => isObject(frame) && 'id' in frame && frame.id === id && !('method' in frame)) as Promise<Frame>;

  return {
    socket,
    received,
    call(method, params) {
      const id = nextId++;
      const frame = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      socket.send(JSON.stringify(frame));
      return reply(id);
    },
    sendRaw(text) {
      socket.send(text);
    },
    next,
    reply,
    notification(method, docId) {
      return next(
        (frame) => isObject(frame) && frame.method === method && !('id' in frame) && (docId === undefined || (frame.params as Frame)?.docId === docId),
      ) as Promise<Frame>;
    },
    notifications(method) {
      return received.filter((frame): frame is Frame => isObject(frame) && typeof frame.method === 'string' && !('id' in frame) && (method === undefined || frame.method === method));
    },
    closed,
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await closed;
    },
  };
}

/** A call that answers `'died'` at once when the socket dies (a killed server process never answers). */
export function callOrDie(client: WsTestClient, method: string, params: unknown[]): Promise<Frame | 'died'> {
  return client.call(method, params).catch((error: unknown) => {
    if (client.socket.readyState === WebSocket.CLOSED) return 'died' as const;
    throw error;
  });
}

/** What a wait for a frame fails with once the socket closed. */
function closedError(code: number, received: unknown[]): Error {
  return new Error(`the socket closed (${code}) before a matching frame; received: ${JSON.stringify(received).slice(0, 2000)}`);
}
