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

/** Commits one change carrying `valueBytes` of text and resolves with the bytes the server sent back. */
async function replyBytes(test: TestServer, perMessageDeflate: boolean, valueBytes: number): Promise<{ bytes: number; extensions: string }> {
  const relay = await countingRelay(test.server.port);
  const socket = new WebSocket(`ws://127.0.0.1:${relay.port}`, { perMessageDeflate });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const docId = `compress-${perMessageDeflate}-${valueBytes}`;
  const before = relay.toClient();
  const change = { id: `change-${docId}`, baseRev: 0, rev: 1, ops: [{ op: 'replace', path: '/text', value: 'a value that repeats '.repeat(valueBytes / 21) }], createdAt: 1 };
  const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
  socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'commitChanges', params: [docId, [change]] }));
  expect(JSON.parse(await reply)).toMatchObject({ id: 1, result: expect.anything() });
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

  it('should be negotiated with a client that offers it', async () => {
    const { extensions } = await replyBytes(test, true, 100);
    expect(extensions).toContain('permessage-deflate');
    expect((await replyBytes(test, false, 100)).extensions).toBe('');
  });

  it('should compress a frame of 1 KB or more on the wire', async () => {
    const compressed = await replyBytes(test, true, 4200);
    const plain = await replyBytes(test, false, 4200);
    expect(compressed.bytes).toBeLessThan(plain.bytes / 4);
  });

  it('should send a frame under 1 KB as it is (compressing it would cost more than it saves)', async () => {
    const compressed = await replyBytes(test, true, 105);
    const plain = await replyBytes(test, false, 105);
    // The same frame, only the doc id in it differs ("true" vs "false").
    expect(Math.abs(compressed.bytes - plain.bytes)).toBeLessThanOrEqual(1);
  });
});
