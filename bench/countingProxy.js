// A loopback TCP proxy in front of a server, counting the bytes it forwards each way (as
// spec/helpers/faultProxy.ts), and keeping the first bytes of each direction so a bench can read
// the WebSocket handshake (which extensions a client offered and the server accepted).
import { createServer, connect as tcpConnect } from 'node:net';

/** The `Sec-WebSocket-Extensions` header of an HTTP head (request or response), or '' when absent. */
export function extensionsHeader(head) {
  return /^sec-websocket-extensions:\s*(.*)$/im.exec(head)?.[1]?.trim() ?? '';
}

/** A proxy on 127.0.0.1 forwarding to `targetPort` on 127.0.0.1. */
export async function startProxy(targetPort) {
  const pairs = new Set();
  const bytes = { toServer: 0, toClient: 0 };
  const state = { refuse: false };
  /** The first chunk each way of every connection: its handshake. */
  const handshakes = [];
  const server = createServer(client => {
    if (state.refuse) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    // As reverse proxies do for WebSockets (nginx's tcp_nodelay): a relay that waits to coalesce
    // small writes adds delayed-ACK stalls no real path has. (The baseline of 53dd0b7 was measured
    // without this, which slowed its paced figures about 2-4×.)
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair = [client, upstream];
    const handshake = { request: '', response: '' };
    handshakes.push(handshake);
    pairs.add(pair);
    client.on('data', chunk => {
      bytes.toServer += chunk.length;
      if (!handshake.request) handshake.request = chunk.toString('latin1');
      upstream.write(chunk);
    });
    upstream.on('data', chunk => {
      bytes.toClient += chunk.length;
      if (!handshake.response) handshake.response = chunk.toString('latin1');
      client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    bytes,
    handshakes,
    get total() {
      return bytes.toServer + bytes.toClient;
    },
    set refuse(value) {
      state.refuse = value;
    },
    dropAll() {
      for (const [client, upstream] of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
    },
    close() {
      this.dropAll();
      return new Promise(resolve => server.close(resolve));
    },
  };
}
