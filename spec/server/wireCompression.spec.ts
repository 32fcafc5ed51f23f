import { connect as tcpConnect } from 'node:net';
import type { NetConnectOpts, Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { PerMessageDeflateOptions } from 'ws';
import { ALL_FRAMES_PER_MESSAGE_DEFLATE } from '../../src/server/wireCompression.js';
import { startTestServer } from '../helpers/testServer.js';
import type { TestServer } from '../helpers/testServer.js';

/** A real `ws` client whose TCP socket the spec keeps, to read the bytes it sent and received. */
interface CountedClient {
  /** The server's `Sec-WebSocket-Extensions` answer: what was negotiated. */
  extensions: string;
  /** Sends a JSON-RPC request and resolves with its response. */
  call(method: string, params: unknown[]): Promise<{ result?: unknown; error?: unknown }>;
  /** Bytes on the wire so far: sent by the client (requests) and by the server (replies). */
  bytes(): { toServer: number; toClient: number };
  close(): void;
}

type Offer = boolean | { clientMaxWindowBits: false };

async function countedClient(url: string, perMessageDeflate: Offer): Promise<CountedClient> {
  let tcp: Socket | undefined;
  const socket = new WebSocket(url, {
    // `ws` takes `clientMaxWindowBits: false` (offer no client_max_window_bits); @types/ws says number only.
    perMessageDeflate: perMessageDeflate as boolean | PerMessageDeflateOptions,
    createConnection: ((options: NetConnectOpts) => (tcp = tcpConnect(options))) as typeof tcpConnect,
  });
  let extensions = '';
  socket.once('upgrade', (response) => (extensions = String(response.headers['sec-websocket-extensions'] ?? '')));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waiting = new Map<number, (frame: { result?: unknown; error?: unknown }) => void>();
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { id: number; result?: unknown; error?: unknown };
    waiting.get(frame.id)?.(frame);
    waiting.delete(frame.id);
  });
  let nextId = 1;
  return {
    extensions,
    call(method, params) {
      const id = nextId++;
      const reply = new Promise<{ result?: unknown; error?: unknown }>((resolve) => waiting.set(id, resolve));
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      return reply;
    },
    bytes: () => ({ toServer: tcp?.bytesWritten ?? 0, toClient: tcp?.bytesRead ?? 0 }),
    close: () => socket.close(),
  };
}

/** The parameters of a negotiated `permessage-deflate`, e.g. `{ server_max_window_bits: '12' }`. */
function deflateParams(extensions: string): Record<string, string | true> {
  const [name, ...params] = extensions.split(';').map((part) => part.trim());
  expect(name).toBe('permessage-deflate');
  return Object.fromEntries(params.map((param) => (param.includes('=') ? (param.split('=') as [string, string]) : [param, true])));
}

/** `count` small paced commits (a typed change each) on one doc; resolves with the bytes each way. */
async function smallCommits(client: CountedClient, docId: string, count: number): Promise<{ toServer: number; toClient: number }> {
  const before = client.bytes();
  for (let i = 0; i < count; i++) {
    const change = { id: `${docId}-${i}`, baseRev: i, rev: i + 1, ops: [{ op: 'replace', path: `/field${i % 5}`, value: `typed ${i}` }], createdAt: 1 };
    expect(await client.call('commitChanges', [docId, [change], { compactAck: true }])).toMatchObject({ result: expect.anything() });
  }
  const after = client.bytes();
  return { toServer: after.toServer - before.toServer, toClient: after.toClient - before.toClient };
}

describe('wire compression (permessage-deflate)', () => {
  let test: TestServer | undefined;
  const clients: CountedClient[] = [];
  const start = async (options: Parameters<typeof startTestServer>[0] = {}): Promise<string> => {
    test = await startTestServer(options);
    return test.server.url;
  };
  const connect = async (url: string, perMessageDeflate: Offer): Promise<CountedClient> => {
    const client = await countedClient(url, perMessageDeflate);
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await test?.close();
    expect(test?.faults).toEqual([]);
  });

  it('should compress large frames alone by default, with 4 KB windows for a client that offers client_max_window_bits (ws, Chromium)', async () => {
    const url = await start();
    const client = await connect(url, true);
    expect(deflateParams(client.extensions)).toEqual({ server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: '12', client_max_window_bits: '12' });
  });

  it('should accept a client that offers no client_max_window_bits (as Firefox is reported to), capping only its own window', async () => {
    const url = await start();
    const client = await connect(url, { clientMaxWindowBits: false });
    expect(deflateParams(client.extensions)).toEqual({ server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: '12' });
    expect((await smallCommits(client, 'no-client-window', 3)).toClient).toBeGreaterThan(0);
    await test?.close();
    const allUrl = await start({ compression: ALL_FRAMES_PER_MESSAGE_DEFLATE });
    const all = await connect(allUrl, { clientMaxWindowBits: false });
    expect(deflateParams(all.extensions)).toEqual({ server_max_window_bits: '12' });
    expect((await smallCommits(all, 'no-client-window-all', 3)).toClient).toBeGreaterThan(0);
  });

  it('should send plain frames to a client that does not offer it, and with compression off', async () => {
    const url = await start();
    expect((await connect(url, false)).extensions).toBe('');
    await test?.close();
    const offUrl = await start({ compression: false });
    expect((await connect(offUrl, true)).extensions).toBe('');
  });

  it('should send a frame under 4 KB as it is by default (compressing it alone costs the server more than it saves)', async () => {
    const url = await start();
    /** Small commits, then one whose full echo is ~2.5 KB: the bytes each way. */
    const commits = async (client: CountedClient, docId: string) => {
      const small = await smallCommits(client, docId, 5);
      const before = client.bytes();
      const text = 'a mid-sized paragraph of text, '.repeat(80);
      const change = { id: `${docId}-mid`, baseRev: 5, rev: 6, ops: [{ op: 'replace', path: '/body', value: text }], createdAt: 1 };
      expect(await client.call('commitChanges', [docId, [change]])).toMatchObject({ result: expect.anything() });
      const after = client.bytes();
      return { small, midToClient: after.toClient - before.toClient };
    };
    const compressed = await commits(await connect(url, true), 'small-compressed');
    const plain = await commits(await connect(url, false), 'small-plain-doc1');
    // The same frames; only the doc ids in them differ, by the same length.
    expect(plain.midToClient).toBeGreaterThan(2_000);
    expect(compressed).toEqual(plain);
  });

  it('should compress a large frame on its own by default (a 4 KB window is enough for it)', async () => {
    const url = await start();
    const commitLarge = async (client: CountedClient, docId: string): Promise<number> => {
      const before = client.bytes().toClient;
      const value = Array.from({ length: 200 }, (_, i) => ({ id: `card-${i}`, title: `Card number ${i}`, done: i % 3 === 0 }));
      const change = { id: `${docId}-large`, baseRev: 0, rev: 1, ops: [{ op: 'replace', path: '/cards', value }], createdAt: 1 };
      expect(await client.call('commitChanges', [docId, [change]])).toMatchObject({ result: expect.anything() });
      return client.bytes().toClient - before;
    };
    const compressed = await commitLarge(await connect(url, true), 'large-compressed');
    const plain = await commitLarge(await connect(url, false), 'large-plain-doc1');
    expect(compressed).toBeLessThan(plain / 4);
  });

  it('should keep 4 KB windows on both sides with ALL_FRAMES_PER_MESSAGE_DEFLATE, shrinking paced small frames both ways under 0.4×', async () => {
    const url = await start({ compression: ALL_FRAMES_PER_MESSAGE_DEFLATE });
    const client = await connect(url, true);
    expect(deflateParams(client.extensions)).toEqual({ server_max_window_bits: '12', client_max_window_bits: '12' });
    const compressed = await smallCommits(client, 'paced-compressed', 30);
    const plain = await smallCommits(await connect(url, false), 'paced-plain-doc1', 30);
    expect(compressed.toServer).toBeLessThan(0.4 * plain.toServer);
    expect(compressed.toClient).toBeLessThan(0.4 * plain.toClient);
  });

  it('should use the settings it is given', async () => {
    const url = await start({ compression: { ...ALL_FRAMES_PER_MESSAGE_DEFLATE, serverMaxWindowBits: 10, clientMaxWindowBits: 11 } });
    expect(deflateParams((await connect(url, true)).extensions)).toEqual({ server_max_window_bits: '10', client_max_window_bits: '11' });
  });
});
