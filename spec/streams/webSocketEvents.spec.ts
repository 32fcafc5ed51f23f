import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { firstValueFrom, map, materialize, ReplaySubject, take, toArray } from 'rxjs';
import type { ObservableNotification } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import type { WebSocket as ServerSocket } from 'ws';
import { AuthError, NetworkError } from '../../src/errors.js';
import { webSocketEvents } from '../../src/streams/webSocketEvents.js';
import type { SocketEvent } from '../../src/streams/webSocketEvents.js';
import { errorShape } from '../helpers/marbles.js';

/** A notification reduced to something `toEqual` can compare (errors by name and message). */
type Seen = { type: string; data?: string; error?: ReturnType<typeof errorShape> } | { end: 'complete' } | { end: 'error'; error: ReturnType<typeof errorShape> };

function describeNotification(n: ObservableNotification<SocketEvent>): Seen {
  if (n.kind === 'C') return { end: 'complete' };
  if (n.kind === 'E') return { end: 'error', error: errorShape(n.error as Error) };
  const event = n.value;
  if (event.type === 'message') return { type: 'message', data: event.data };
  if (event.type === 'close') return event.error ? { type: 'close', error: errorShape(event.error) } : { type: 'close' };
  return { type: 'open' };
}

/** Subscribes and records every notification; `first(n)` resolves once n of them have arrived. */
function record(url: string, protocol?: string | string[]) {
  const events: SocketEvent[] = [];
  const seen = new ReplaySubject<Seen>();
  const subscription = webSocketEvents({ url, protocol, WebSocketCtor: WebSocket })
    .pipe(materialize())
    .subscribe((n) => {
      if (n.kind === 'N') events.push(n.value);
      seen.next(describeNotification(n));
    });
  const first = (count: number) => firstValueFrom(seen.pipe(take(count), toArray()));
  const send = (data: string) => {
    const open = events.find((e) => e.type === 'open');
    if (!open || open.type !== 'open') throw new Error('not opened');
    open.send(data);
  };
  return { subscription, first, send };
}

describe('webSocketEvents', () => {
  let server: WebSocketServer;
  let url: string;
  let connections: ReplaySubject<ServerSocket>;

  beforeEach(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    connections = new ReplaySubject<ServerSocket>();
    server.on('connection', (socket) => connections.next(socket));
    await once(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** The n-th server-side connection (1-based). */
  const connection = (n: number) => firstValueFrom(connections.pipe(take(n), toArray(), map((all) => all[n - 1])));

  it('should emit open, then each inbound text frame unparsed', async () => {
    const client = record(url);
    const socket = await connection(1);
    socket.send('{"jsonrpc":"2.0","method":"hello"}');
    socket.send('<html>not json</html>');

    expect(await client.first(3)).toEqual([
      { type: 'open' },
      { type: 'message', data: '{"jsonrpc":"2.0","method":"hello"}' },
      { type: 'message', data: '<html>not json</html>' },
    ]);
    client.subscription.unsubscribe();
  });

  it('should decode a binary frame as UTF-8 text', async () => {
    const client = record(url);
    const socket = await connection(1);
    socket.send(Buffer.from('{"ü":1}', 'utf8'), { binary: true });

    expect(await client.first(2)).toEqual([{ type: 'open' }, { type: 'message', data: '{"ü":1}' }]);
    client.subscription.unsubscribe();
  });

  it('should send text frames verbatim through the open event', async () => {
    const client = record(url);
    const socket = await connection(1);
    await client.first(1);
    const received = once(socket, 'message');
    client.send('{"jsonrpc":"2.0","id":1,"method":"getDoc","params":["a"]}');

    const [data, isBinary] = await received;
    expect(String(data)).toBe('{"jsonrpc":"2.0","id":1,"method":"getDoc","params":["a"]}');
    expect(isBinary).toBe(false);
    client.subscription.unsubscribe();
  });

  it('should pass the sub-protocol to the server', async () => {
    server.options.handleProtocols = (protocols) => [...protocols][0] ?? false;
    const client = record(url, ['patches.v1', 'patches.v0']);
    const socket = await connection(1);

    expect(socket.protocol).toBe('patches.v1');
    client.subscription.unsubscribe();
  });

  it('should emit close and complete when the server closes cleanly', async () => {
    const client = record(url);
    const socket = await connection(1);
    await client.first(1);
    socket.close(1000, 'bye');

    expect(await client.first(3)).toEqual([{ type: 'open' }, { type: 'close' }, { end: 'complete' }]);
  });

  it('should emit close and error with NetworkError when the connection drops', async () => {
    const client = record(url);
    const socket = await connection(1);
    await client.first(1);
    socket.terminate();

    const error = errorShape(new NetworkError('WebSocket closed (code 1006)', { closeCode: 1006 }));
    expect(await client.first(3)).toEqual([{ type: 'open' }, { type: 'close', error }, { end: 'error', error }]);
  });

  it('should surface an application close code and reason on the NetworkError', async () => {
    const client = record(url);
    const socket = await connection(1);
    await client.first(1);
    socket.close(4000, 'maintenance');

    const error = errorShape(new NetworkError('WebSocket closed (code 4000: maintenance)', { closeCode: 4000, closeReason: 'maintenance' }));
    expect(await client.first(3)).toEqual([{ type: 'open' }, { type: 'close', error }, { end: 'error', error }]);
  });

  it.each([1008, 4401, 4403])('should turn a close with %i into an AuthError', async (code) => {
    const client = record(url);
    const socket = await connection(1);
    await client.first(1);
    socket.close(code, 'token expired');

    const error = errorShape(new AuthError(`Connection refused: authentication failed (close code ${code}: token expired)`, code, { closeCode: code, closeReason: 'token expired' }));
    expect(await client.first(3)).toEqual([{ type: 'open' }, { type: 'close', error }, { end: 'error', error }]);
  });

  it.each([401, 403])('should turn an HTTP upgrade answered %i into an AuthError', async (status) => {
    const refusing = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: (_info, done) => done(false, status) });
    await once(refusing, 'listening');
    try {
      const client = record(`ws://127.0.0.1:${(refusing.address() as AddressInfo).port}`);
      const error = errorShape(new AuthError(`Connection refused: authentication failed (HTTP ${status})`, status));
      expect(await client.first(2)).toEqual([{ type: 'close', error }, { end: 'error', error }]);
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it('should emit close and error with NetworkError when nothing listens on the port', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = record(url);

    const [close, end] = await client.first(2);
    expect(close).toMatchObject({ type: 'close', error: { name: 'NetworkError' } });
    expect(end).toMatchObject({ end: 'error', error: { name: 'NetworkError' } });
    expect((end as { error: { message: string } }).error.message).toMatch(/^WebSocket error: .*ECONNREFUSED/);
  });

  it('should close the socket when unsubscribed', async () => {
    const client = record(url);
    const socket = await connection(1);
    await client.first(1);
    const closed = once(socket, 'close');
    client.subscription.unsubscribe();

    const [code] = await closed;
    expect(code).toBe(1005); // closed by the client without a status code
  });

  it('should abort a connection attempt when unsubscribed before it opens', async () => {
    // A TCP server that never answers the upgrade: the socket stays CONNECTING.
    const silent = createServer();
    const accepted = new ReplaySubject<Socket>();
    silent.on('connection', (socket) => accepted.next(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const client = record(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}`);
      const socket = await firstValueFrom(accepted);
      const aborted = once(socket, 'close');
      client.subscription.unsubscribe();

      await aborted; // the client gave up the handshake (and its `error` event found a listener)
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('should open one connection per subscription', async () => {
    const one = record(url);
    const two = record(url);
    const [first, second] = await Promise.all([connection(1), connection(2)]);
    await Promise.all([one.first(1), two.first(1)]);

    expect(first).not.toBe(second);
    expect(server.clients.size).toBe(2);
    const firstClosed = once(first, 'close');
    one.subscription.unsubscribe();
    await firstClosed;
    expect(server.clients.size).toBe(1);
    two.subscription.unsubscribe();
  });

  it('should make a stale send throw NetworkError instead of writing anywhere', async () => {
    const client = record(url);
    const socket = await connection(1);
    await client.first(1);
    socket.close(1000);
    await client.first(3);

    expect(() => client.send('late')).toThrow(NetworkError);
    expect(() => client.send('late')).toThrow('WebSocket is not connected');
  });
});
