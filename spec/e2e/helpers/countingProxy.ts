import { createServer, connect, type Server, type Socket } from 'node:net';
import { closeFrameWatch } from './closeFrameWatch.js';

/**
 * A TCP proxy that counts how many WebSockets are open at once: from the connection until the
 * client's Close frame (the socket is CLOSING from then on, though a closing handshake may keep the
 * TCP connection a few ms longer: a closed leader's can still be on it when the next leader connects)
 * or until the connection ends. `reachable(false)` plays a server out of reach: the connections
 * are cut, and new ones are closed as they come (not counted), until `reachable(true)`.
 */
export async function startCountingProxy(
  targetPort: number,
): Promise<{ url: string; open: () => number; max: () => number; total: () => number; reachable(on: boolean): void; close(): Promise<void> }> {
  let open = 0;
  let max = 0;
  let total = 0;
  let reachable = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer(client => {
    if (!reachable) {
      client.destroy();
      return;
    }
    open++;
    total++;
    max = Math.max(max, open);
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let counted = true;
    const uncount = () => {
      if (counted) open--;
      counted = false;
    };
    const done = () => {
      uncount();
      client.destroy();
      upstream.destroy();
    };
    const sawClose = closeFrameWatch();
    client.on('data', (chunk: Buffer) => sawClose(chunk) && uncount());
    client.pipe(upstream).pipe(client);
    client.on('close', done).on('error', done);
    upstream.on('close', done).on('error', done);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    open: () => open,
    max: () => max,
    total: () => total,
    reachable(on) {
      reachable = on;
      if (!on) for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
