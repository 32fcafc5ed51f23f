import { connect, createServer, type Socket } from 'node:net';

/** A loopback TCP proxy that can stop passing the server's bytes back to the client. */
export interface ReplyHoldingProxy {
  /** `ws://127.0.0.1:<port>` */
  url: string;
  /**
   * While true, bytes from the server to the connections open when it was set are kept back
   * (requests still reach the server): the client sees a commit go out but never its reply. Held
   * bytes die with their connection. A connection made later is not held (a tab that takes the
   * connection over talks to the server).
   */
  holdReplies: boolean;
  /** Bytes kept back so far. */
  readonly heldBytes: number;
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 (a free port) to `127.0.0.1:targetPort`. WebSocket frames pass
 * byte for byte, so "the server stored it, the reply was lost" is a real wire situation.
 */
export async function startReplyHoldingProxy(targetPort: number): Promise<ReplyHoldingProxy> {
  const sockets = new Set<Socket>();
  /** Each open connection: whether its replies are held. */
  const connections = new Set<{ held: boolean }>();
  const state = { holdReplies: false, heldBytes: 0 };
  const server = createServer(client => {
    const upstream = connect(targetPort, '127.0.0.1');
    const connection = { held: false };
    sockets.add(client).add(upstream);
    connections.add(connection);
    client.on('data', chunk => upstream.write(chunk));
    upstream.on('data', chunk => {
      if (connection.held) state.heldBytes += chunk.length;
      else client.write(chunk);
    });
    const end = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    get holdReplies() {
      return state.holdReplies;
    },
    set holdReplies(value: boolean) {
      state.holdReplies = value;
      for (const connection of connections) connection.held = value;
    },
    get heldBytes() {
      return state.heldBytes;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
