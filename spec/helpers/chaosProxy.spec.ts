import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startChaosProxy, type ChaosProxy } from './chaosProxy.js';
import { mulberry32 } from '../fuzz/random.js';

/** A TCP server that echoes, and remembers what each connection sent it. */
interface Echo {
  server: Server;
  port: number;
  received: Buffer[];
  closed: Promise<void>[];
  /** Emits 'data' whenever any connection received bytes. */
  events: EventEmitter;
}

async function startEcho(): Promise<Echo> {
  const echo: Echo = { server: createServer(), port: 0, received: [], closed: [], events: new EventEmitter() };
  echo.server.on('connection', (socket: Socket) => {
    const index = echo.received.push(Buffer.alloc(0)) - 1;
    // A reset (a black-holed pair torn down at the end) closes the socket too.
    echo.closed.push(once(socket, 'close').then(() => undefined, () => undefined));
    socket.on('data', chunk => {
      echo.received[index] = Buffer.concat([echo.received[index], chunk]);
      echo.events.emit('data');
      socket.write(chunk);
    });
    socket.on('error', () => undefined);
  });
  echo.server.listen(0, '127.0.0.1');
  await once(echo.server, 'listening');
  const address = echo.server.address();
  echo.port = typeof address === 'object' && address ? address.port : 0;
  return echo;
}

/** Resolves once `socket` has received `length` bytes, with everything it received. */
function receive(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    socket.on('data', chunk => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= length) resolve(got);
    });
    socket.on('close', () => reject(new Error(`closed after ${got.length} of ${length} bytes`)));
  });
}

async function open(proxy: ChaosProxy): Promise<Socket> {
  const socket = connect(proxy.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

describe('chaosProxy', () => {
  let echo: Echo;
  let proxy: ChaosProxy;

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startChaosProxy(echo.port, { random: mulberry32(7) });
  });

  afterEach(async () => {
    await proxy.close();
    echo.server.close();
  });

  it('should forward bytes both ways and count them', async () => {
    const socket = await open(proxy);
    const echoed = receive(socket, 5);
    socket.write('hello');
    expect((await echoed).toString()).toBe('hello');
    expect(proxy.bytes).toEqual({ toServer: 5, toClient: 5 });
    socket.destroy();
  });

  it('should delay chunks during a burst without reordering a byte', async () => {
    const socket = await open(proxy);
    const sent = Buffer.from(Array.from({ length: 60 }, (_, i) => `<${i}>`).join(''));
    const echoed = receive(socket, sent.length);
    proxy.delayBurst(10_000, 20);
    // Separate writes, so the proxy sees many chunks with different random delays.
    for (let i = 0; i < 60; i++) {
      socket.write(`<${i}>`);
      await new Promise(resolve => setImmediate(resolve));
    }
    expect((await echoed).equals(sent)).toBe(true);
    expect(proxy.stats.delayedChunks).toBeGreaterThan(1);
    socket.destroy();
  });

  it('should release held chunks in order on calm()', async () => {
    const socket = await open(proxy);
    proxy.delayBurst(60_000, 60_000);
    const echoed = receive(socket, 6);
    socket.write('abc');
    await new Promise(resolve => setImmediate(resolve));
    socket.write('def');
    await new Promise(resolve => setImmediate(resolve));
    proxy.calm();
    expect((await echoed).toString()).toBe('abcdef');
    socket.destroy();
  });

  it('should hold only the chosen direction', async () => {
    const socket = await open(proxy);
    proxy.delayBurst(60_000, 60_000, 'toClient');
    const arrived = once(echo.events, 'data');
    socket.write('ping');
    await arrived;
    expect(echo.received[0].toString()).toBe('ping');
    expect(proxy.bytes.toClient).toBe(0);
    const echoed = receive(socket, 4);
    proxy.calm();
    expect((await echoed).toString()).toBe('ping');
    socket.destroy();
  });

  it('should black-hole open connections both ways, keep them open, and let new ones through', async () => {
    const socket = await open(proxy);
    const first = receive(socket, 2);
    socket.write('hi');
    await first;
    proxy.blackHole();
    socket.write('lost');
    socket.destroy();

    // A new connection works normally, and serves as the barrier for what the old one did.
    const fresh = await open(proxy);
    const echoed = receive(fresh, 2);
    fresh.write('ok');
    expect((await echoed).toString()).toBe('ok');
    expect(proxy.stats.swallowed).toBe(1);
    expect(echo.received[0].toString()).toBe('hi');
    // The client's close did not cross the hole: the upstream side of the old pair is still open.
    expect(proxy.connections).toBe(2);
    fresh.destroy();
  });

  it('should black-hole one direction only when asked', async () => {
    const socket = await open(proxy);
    proxy.blackHole('toClient');
    const arrived = once(echo.events, 'data');
    socket.write('one-way');
    await arrived;
    expect(echo.received[0].toString()).toBe('one-way');
    expect(proxy.bytes.toClient).toBe(0);
    socket.destroy();
  });

  it('should cut the next chunk mid-way and destroy both sides', async () => {
    const socket = await open(proxy);
    const clientClosed = once(socket, 'close');
    proxy.killMidFrame();
    socket.write(Buffer.alloc(100, 1));
    await clientClosed;
    await echo.closed[0];
    expect(echo.received[0].length).toBeGreaterThanOrEqual(1);
    expect(echo.received[0].length).toBeLessThan(100);
    expect(proxy.stats.killed).toBe(1);
    expect(proxy.connections).toBe(0);
  });

  it('should drop every connection, refuse new ones while asked, and follow a new target', async () => {
    const socket = await open(proxy);
    const closed = once(socket, 'close');
    proxy.dropAll();
    await closed;
    expect(proxy.stats.dropped).toBe(1);

    proxy.refuse = true;
    const refused = await open(proxy);
    await once(refused, 'close');
    expect(proxy.stats.refused).toBe(1);
    proxy.refuse = false;

    const other = await startEcho();
    try {
      proxy.target = other.port;
      const moved = await open(proxy);
      const echoed = receive(moved, 2);
      moved.write('hi');
      await echoed;
      expect(other.received[0].toString()).toBe('hi');
      moved.destroy();
    } finally {
      other.server.close();
    }
  });

  it("should close, unforwarded and uncounted, a connection asking for another path than its own (ownPath)", async () => {
    // A client of another process that still reconnects to the port this proxy was given (fuzz31:
    // a never-destroyed sync whose server had that port): its upgrade must not reach the target.
    const own = await startChaosProxy(echo.port, { random: mulberry32(7), ownPath: true });
    try {
      const path = new URL(own.url).pathname;
      expect(path).toMatch(/^\/chaos-/);
      const upstream = once(echo.server, 'connection');
      const stray = await open(own);
      // The pair exists (its upstream is connected) before the stray says anything: not counted.
      await upstream;
      expect(own.connections).toBe(0);
      const outcome = new Promise<string>(resolve => {
        stray.on('data', () => resolve('forwarded'));
        stray.on('close', () => resolve('closed'));
      });
      stray.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\r\n');
      expect(await outcome).toBe('closed');
      expect(own.stats.foreign).toBe(1);
      expect(own.connections).toBe(0);

      const mine = await open(own);
      const request = `GET ${path} HTTP/1.1\r\n\r\n`;
      const echoed = receive(mine, request.length);
      mine.write(request);
      expect((await echoed).toString()).toBe(request);
      expect(own.connections).toBe(1);
      expect(Buffer.concat(echo.received).toString()).toBe(request); // not a byte of the stray's
      mine.destroy();
    } finally {
      await own.close();
    }
  });
});
