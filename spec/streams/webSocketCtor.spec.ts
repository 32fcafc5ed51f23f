import { filter, firstValueFrom, switchMap } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import { resolveWebSocketCtor } from '../../src/streams/webSocketCtor.js';
import { webSocketEvents } from '../../src/streams/webSocketEvents.js';
import type { WebSocketConstructor } from '../../src/streams/webSocketEvents.js';

/** Whether a resolved class is `ws`'s (ours extends it to lift its cap on a message's size). */
function isWs(ctor: unknown): boolean {
  return typeof ctor === 'function' && (ctor === WebSocket || ctor.prototype instanceof WebSocket);
}

describe('resolveWebSocketCtor', () => {
  const globals = globalThis as { WebSocket?: unknown };
  const original = globals.WebSocket;

  afterEach(() => {
    if (original === undefined) delete globals.WebSocket;
    else globals.WebSocket = original;
  });

  it('should return the preferred class as is', async () => {
    const preferred = class {} as unknown as WebSocketConstructor;
    expect(await firstValueFrom(resolveWebSocketCtor(preferred))).toBe(preferred);
    expect(await firstValueFrom(resolveWebSocketCtor(preferred, false))).toBe(preferred);
  });

  it('should use the global WebSocket in a browser', async () => {
    const global = class {} as unknown;
    globals.WebSocket = global;
    expect(await firstValueFrom(resolveWebSocketCtor(undefined, false))).toBe(global);
  });

  it('should load the ws package in Node even when there is a global WebSocket (it compresses what it sends)', async () => {
    globals.WebSocket = class {} as unknown;
    expect(isWs(await firstValueFrom(resolveWebSocketCtor()))).toBe(true);
    expect(isWs(await firstValueFrom(resolveWebSocketCtor(undefined, true)))).toBe(true);
  });

  it('should load the ws package when there is no global WebSocket', async () => {
    delete globals.WebSocket;
    expect(isWs(await firstValueFrom(resolveWebSocketCtor()))).toBe(true);
    expect(isWs(await firstValueFrom(resolveWebSocketCtor(undefined, false)))).toBe(true);
  });

  it('should look up afresh on every subscription', async () => {
    const resolved = resolveWebSocketCtor(undefined, false);
    const first = class {} as unknown;
    const second = class {} as unknown;
    globals.WebSocket = first;
    expect(await firstValueFrom(resolved)).toBe(first);
    globals.WebSocket = second;
    expect(await firstValueFrom(resolved)).toBe(second);
  });

  it('should load the same class from ws on every lookup', async () => {
    delete globals.WebSocket;
    expect(await firstValueFrom(resolveWebSocketCtor())).toBe(await firstValueFrom(resolveWebSocketCtor()));
  });

  it('should receive a message larger than ws accepts by default (100 MiB), as a browser does', async () => {
    // A catch-up reply past ws's default cap closed the socket (1009) and was asked for again forever.
    const size = 100 * 1024 * 1024 + 1;
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    server.on('connection', (socket) => socket.send(Buffer.alloc(size, 'x'), { binary: false }));
    const { port } = server.address() as { port: number };
    try {
      const message = await firstValueFrom(
        resolveWebSocketCtor().pipe(
          switchMap((WebSocketCtor) => webSocketEvents({ url: `ws://127.0.0.1:${port}`, WebSocketCtor })),
          filter((event) => event.type === 'message'),
        ),
      );
      expect(message.type === 'message' && message.data.length).toBe(size);
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
