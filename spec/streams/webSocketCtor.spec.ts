import { firstValueFrom } from 'rxjs';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { resolveWebSocketCtor } from '../../src/streams/webSocketCtor.js';
import type { WebSocketConstructor } from '../../src/streams/webSocketEvents.js';

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
  });

  it('should fall back to the global WebSocket', async () => {
    const global = class {} as unknown;
    globals.WebSocket = global;
    expect(await firstValueFrom(resolveWebSocketCtor())).toBe(global);
  });

  it('should load the ws package when there is no global WebSocket', async () => {
    delete globals.WebSocket;
    const resolved = await firstValueFrom(resolveWebSocketCtor());
    expect(resolved.prototype).toBeInstanceOf(WebSocket);
    expect(await firstValueFrom(resolveWebSocketCtor())).toBe(resolved);
  });

  it('should offer permessage-deflate from Node and compress frames of 128 bytes and more', async () => {
    delete globals.WebSocket;
    const Ctor = (await firstValueFrom(resolveWebSocketCtor())) as unknown as typeof WebSocket;
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await new Promise((resolve) => server.once('listening', resolve));
    let received = 0;
    const message = new Promise<string>((resolve) =>
      server.once('connection', (socket, request) => {
        request.socket.on('data', (chunk: Buffer) => (received += chunk.length));
        socket.once('message', (data) => resolve(String(data)));
      }),
    );
    const client = new Ctor(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await new Promise((resolve) => client.once('open', resolve));
    // 600 bytes: below ws's own 1 KB default threshold, so only our offer compresses it.
    const text = JSON.stringify({ jsonrpc: '2.0', method: 'commitChanges', params: ['doc', 'x'.repeat(540)] });
    client.send(text);
    expect(await message).toBe(text);
    expect(client.extensions).toContain('permessage-deflate');
    expect(received).toBeLessThan(200);
    client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('should look up afresh on every subscription', async () => {
    const resolved = resolveWebSocketCtor();
    const first = class {} as unknown;
    const second = class {} as unknown;
    globals.WebSocket = first;
    expect(await firstValueFrom(resolved)).toBe(first);
    globals.WebSocket = second;
    expect(await firstValueFrom(resolved)).toBe(second);
  });
});
