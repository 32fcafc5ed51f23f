import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
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
    expect(await firstValueFrom(resolveWebSocketCtor(preferred, false))).toBe(preferred);
  });

  it('should use the global WebSocket in a browser', async () => {
    const global = class {} as unknown;
    globals.WebSocket = global;
    expect(await firstValueFrom(resolveWebSocketCtor(undefined, false))).toBe(global);
  });

  it('should load the ws package in Node even when there is a global WebSocket (it compresses what it sends)', async () => {
    globals.WebSocket = class {} as unknown;
    expect(await firstValueFrom(resolveWebSocketCtor())).toBe(WebSocket);
    expect(await firstValueFrom(resolveWebSocketCtor(undefined, true))).toBe(WebSocket);
  });

  it('should load the ws package when there is no global WebSocket', async () => {
    delete globals.WebSocket;
    expect(await firstValueFrom(resolveWebSocketCtor())).toBe(WebSocket);
    expect(await firstValueFrom(resolveWebSocketCtor(undefined, false))).toBe(WebSocket);
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
});
