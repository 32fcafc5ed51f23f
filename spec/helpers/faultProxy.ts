import { createServer, connect, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy in front of a server, able to cut every connection (mid-frame too). */
export interface FaultProxy {
  /** The port clients connect to. */
  port: number;
  /** `ws://127.0.0.1:<port>` */
  url: string;
  /** Connections open right now. */
  readonly connections: number;
  /** Destroys every open connection at once, both sides, without a closing handshake. */
  dropAll(): void;
  /** While true, new connections are refused (accepted and destroyed at once). */
  refuse: boolean;
  /** Bytes forwarded so far, in both directions. */
  readonly bytes: { toServer: number; toClient: number };
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 (a free port) forwarding to `127.0.0.1:targetPort`. WebSocket
 * frames pass through byte for byte, so dropping a connection is a real mid-stream failure.
 */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const bytes = { toServer: 0, toClient: 0 };
  const state = { refuse: false };
  const server: Server = createServer(client => {
    if (state.refuse) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', chunk => {
      bytes.toServer += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', chunk => {
      bytes.toClient += chunk.length;
      client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  const dropAll = () => {
    for (const [client, upstream] of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    get connections() {
      return pairs.size;
    },
    get refuse() {
      return state.refuse;
    },
    set refuse(value: boolean) {
      state.refuse = value;
    },
    bytes,
    dropAll,
    close() {
      dropAll();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
