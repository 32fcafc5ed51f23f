import type { AddressInfo, Socket } from 'node:net';
import { createServer, connect as tcpConnect } from 'node:net';
import { WebSocket } from 'ws';
import { startTestServer } from '../helpers/testServer.js';
import type { TestServer } from '../helpers/testServer.js';

/** A loopback TCP relay counting the bytes the server sends, i.e. what is on the wire. */
async function countingRelay(targetPort: number): Promise<{ port: number; toClient: () => number; close: () => Promise<void> }> {
  let toClient = 0;
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => (toClient += chunk.length));
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as AddressInfo).port,
    toClient: () => toClient,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => relay.close(() => resolve()));
    },
  };
}

/** Commits 20 similar changes and resolves with the bytes the server sent back. */
async function replyBytes(test: TestServer, perMessageDeflate: boolean): Promise<{ bytes: number; extensions: string }> {
  const relay = await countingRelay(test.server.port);
  const socket = new WebSocket(`ws://127.0.0.1:${relay.port}`, { perMessageDeflate });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const docId = `compress-${perMessageDeflate}`;
  const before = relay.toClient();
  for (let rev = 1; rev <= 20; rev++) {
    const change = { id: `change-${docId}-${rev}`, baseRev: rev - 1, rev, ops: [{ op: 'replace', path: `/field${rev}`, value: 'a value that repeats '.repeat(3) }], createdAt: 1 };
    const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: rev, method: 'commitChanges', params: [docId, [change]] }));
    expect(JSON.parse(await reply)).toMatchObject({ id: rev, result: expect.anything() });
  }
  const bytes = relay.toClient() - before;
  const extensions = socket.extensions;
  socket.close();
  await relay.close();
  return { bytes, extensions };
}

describe('wire compression (permessage-deflate)', () => {
  let test: TestServer;
  beforeEach(async () => {
    test = await startTestServer();
  });
  afterEach(async () => {
    await test.close();
  });

  it('should be negotiated with a client that offers it, and shrink the replies on the wire', async () => {
    const compressed = await replyBytes(test, true);
    const plain = await replyBytes(test, false);
    expect(compressed.extensions).toContain('permessage-deflate');
    expect(plain.extensions).toBe('');
    // Similar frames against the window kept between messages: well under half.
    expect(compressed.bytes).toBeLessThan(plain.bytes / 2);
  });
});
