import { StatusError, StoreError } from '../../src/errors.js';
import { RevConflictError } from '../../src/server/stores/RevConflictError.js';
import { FrameAnswers, type FrameAnswersDeps, type FrameStats } from '../../src/server/FrameAnswers.js';
import type { Connection } from '../../src/server/ServerCore.js';

describe('FrameAnswers', () => {
  const connection: Connection = { id: 'conn-1' };
  let stats: FrameStats;
  let calls: Array<[string, unknown[]]>;
  let heartbeats: string[];
  let errors: unknown[];
  let closing: boolean;

  /** Answers with a server whose only methods echo their params or fail as named. */
  function answers(options: Partial<FrameAnswersDeps> = {}): FrameAnswers {
    return new FrameAnswers({
      call: async (_connection, method, params) => {
        calls.push([method, params]);
        if (method === 'missing') throw new StatusError(404, 'Not found');
        if (method === 'broken') throw new Error('disk on fire');
        if (method === 'corrupt') throw new StoreError(`Corrupt log line in document "${String(params[0])}"`, String(params[0]));
        if (method === 'raced') throw new RevConflictError('a', 3);
        // A result past the longest string V8 makes: JSON.stringify throws as it would on it.
        if (method === 'huge') return { toJSON: () => { throw new RangeError('Invalid string length'); } };
        return { method, params };
      },
      stats,
      maxFrameBytes: 1000,
      maxBatchLength: 3,
      anchorWire: false,
      heartbeatMs: 15_000,
      heartbeat: (id) => heartbeats.push(id),
      closing: () => closing,
      onError: (error) => errors.push(error),
      ...options,
    });
  }

  const frame = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  const request = (id: number | string, method: string, params?: unknown[]) => ({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
  const reply = async (value: unknown, options?: Partial<FrameAnswersDeps>) => {
    const text = await answers(options).reply(connection, frame(value));
    if (Array.isArray(text)) throw new Error(`expected one frame, got ${text.length}`);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  };
  /** Every frame the reply to `value` is sent as, parsed. */
  const frames = async (value: unknown, options?: Partial<FrameAnswersDeps>) => {
    const text = await answers(options).reply(connection, frame(value));
    return (typeof text === 'string' ? [text] : (text ?? [])).map((one) => JSON.parse(one) as unknown);
  };

  beforeEach(() => {
    stats = { frames: 0, requests: 0, errors: 0, ignoredNotifications: 0 };
    calls = [];
    heartbeats = [];
    errors = [];
    closing = false;
  });

  it('should answer a request with what its method returned, under its id', async () => {
    expect(await reply(request(7, 'getDoc', ['a']))).toEqual({ jsonrpc: '2.0', id: 7, result: { method: 'getDoc', params: ['a'] } });
    expect(stats).toEqual({ frames: 1, requests: 1, errors: 0, ignoredNotifications: 0 });
  });

  it('should answer a failed method with its error, and tell onError only of unexpected failures', async () => {
    expect(await reply(request(1, 'missing'))).toEqual({ jsonrpc: '2.0', id: 1, error: { code: 404, message: 'Not found' } });
    expect(errors).toEqual([]);
    expect(await reply(request(2, 'broken'))).toEqual({ jsonrpc: '2.0', id: 2, error: { code: -32000, message: 'Server error' } });
    expect(errors).toEqual([new Error('disk on fire')]);
    expect(stats.errors).toBe(2);
  });

  it('should give a notification no reply and run nothing', async () => {
    expect(await reply({ jsonrpc: '2.0', method: 'getDoc', params: ['a'] })).toBeUndefined();
    expect(calls).toEqual([]);
    expect(stats.ignoredNotifications).toBe(1);
  });

  it('should answer a frame that is not JSON with a parse error, and a message that is not a request with an invalid request', async () => {
    expect(await reply('{"jsonrpc":')).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    expect(await reply({ jsonrpc: '1.0', id: 3, method: 'getDoc' })).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32600, message: 'Invalid Request', data: 'jsonrpc must be "2.0"' },
    });
    expect(calls).toEqual([]);
  });

  it('should refuse a frame over the limit unread, with a 413 under the id at its start', async () => {
    const big = JSON.stringify(request(9, 'commitChanges', ['a', 'x'.repeat(2000)]));
    expect(await reply(big)).toEqual({ jsonrpc: '2.0', id: 9, error: { code: 413, message: `Frame of ${big.length} bytes is over the 1000-byte limit`, data: { scope: 'frame', limit: 1000 } } });
    expect(calls).toEqual([]);
  });

  describe('batch arrays', () => {
    it('should answer each request of a batch, in order, in one array, leaving out its notifications', async () => {
      const batch = [request(1, 'a'), { jsonrpc: '2.0', method: 'b' }, request(2, 'missing')];
      expect(await reply(batch)).toEqual([
        { jsonrpc: '2.0', id: 1, result: { method: 'a', params: [] } },
        { jsonrpc: '2.0', id: 2, error: { code: 404, message: 'Not found' } },
      ]);
      expect(await reply([{ jsonrpc: '2.0', method: 'b' }])).toBeUndefined();
    });

    it('should send the replies of a batch as frames of their own, in order, when together they are over batchReplyChars', async () => {
      const batch = [request(1, 'a', ['x'.repeat(60)]), request(2, 'missing'), request(3, 'a', ['y'.repeat(60)])];
      const replies = [
        { jsonrpc: '2.0', id: 1, result: { method: 'a', params: ['x'.repeat(60)] } },
        { jsonrpc: '2.0', id: 2, error: { code: 404, message: 'Not found' } },
        { jsonrpc: '2.0', id: 3, result: { method: 'a', params: ['y'.repeat(60)] } },
      ];
      const oneFrame = JSON.stringify(replies).length;
      expect(await frames(batch, { batchReplyChars: oneFrame })).toEqual([replies]);
      expect(await frames(batch, { batchReplyChars: oneFrame - 1 })).toEqual(replies);
    });

    it('should answer a reply that cannot be serialised with 500 scope reply, alone or in a batch, and report it', async () => {
      const tooLarge = { code: 500, message: 'The reply could not be serialised (too large?)', data: { scope: 'reply' } };
      expect(await reply(request(1, 'huge'))).toEqual({ jsonrpc: '2.0', id: 1, error: tooLarge });
      expect(await reply([request(2, 'a'), request(3, 'huge')])).toEqual([
        { jsonrpc: '2.0', id: 2, result: { method: 'a', params: [] } },
        { jsonrpc: '2.0', id: 3, error: tooLarge },
      ]);
      expect(errors).toEqual([new RangeError('Invalid string length'), new RangeError('Invalid string length')]);
      expect(stats.errors).toBe(2);
    });

    it('should refuse an empty batch and one over the limit as a whole', async () => {
      expect(await reply([])).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request', data: 'empty batch' } });
      const four = [1, 2, 3, 4].map((id) => request(id, 'a'));
      expect(await reply(four)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request', data: 'a batch holds at most 3 requests' } });
      expect(calls).toEqual([]);
    });

    it('should refuse any batch on the anchor wire, as @dabble/patches servers do, and leave getCapabilities to the methods', async () => {
      expect(await reply([request(1, 'a')], { anchorWire: true })).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } });
      await reply(request(2, 'getCapabilities'), { anchorWire: true });
      expect(calls).toEqual([['getCapabilities', []]]);
    });
  });

  it('should answer getCapabilities itself: batches up to the limit, compact acks', async () => {
    expect(await reply(request(1, 'getCapabilities'))).toEqual({ jsonrpc: '2.0', id: 1, result: { batch: { maxLength: 3 }, compactAck: true, catchUpSnapshot: true } });
    expect(calls).toEqual([]);
  });

  it('should answer ping with the heartbeat interval and mark the caller, or pass it on when heartbeats are off', async () => {
    expect(await reply(request(1, 'ping'))).toEqual({ jsonrpc: '2.0', id: 1, result: { heartbeatMs: 15_000 } });
    expect(heartbeats).toEqual(['conn-1']);
    await reply(request(2, 'ping'), { heartbeatMs: 0 });
    expect(calls).toEqual([['ping', []]]);
    expect(heartbeats).toEqual(['conn-1']);
  });

  it('should answer every request with a retryable 503 once the server is closing', async () => {
    closing = true;
    expect(await reply(request(1, 'getDoc', ['a']))).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: 503, message: 'SERVER_CLOSING: the server is shutting down; retry', data: { scope: 'server' } },
    });
    expect(calls).toEqual([]);
  });

  // Found in review: every StoreError counted as expected, so a corrupt data directory answered
  // -32000 on every call on the doc and the server log stayed empty.
  it('should answer a store fault 500 for its doc and report it to onError once per doc, not on every call', async () => {
    const server = answers();
    const ask = async (id: number, method: string, docId: string) => JSON.parse((await server.reply(connection, frame(request(id, method, [docId])))) as string) as unknown;
    expect(await ask(1, 'corrupt', 'a')).toEqual({ jsonrpc: '2.0', id: 1, error: { code: 500, message: 'Corrupt log line in document "a"', data: { scope: 'doc' } } });
    await ask(2, 'corrupt', 'a');
    await ask(3, 'corrupt', 'b');
    await ask(4, 'corrupt', 'a');
    expect(errors).toEqual([new StoreError('Corrupt log line in document "a"', 'a'), new StoreError('Corrupt log line in document "b"', 'b')]);
    expect((errors as StoreError[]).map((error) => error.docId)).toEqual(['a', 'b']);
    expect(stats.errors).toBe(4);
  });

  // Left by the durable-store review: the set of docs reported only grew, one id for every doc a
  // long-running server ever found corrupt.
  it('should remember the last 1,024 docs whose store fault it reported, and report an older one again, once', async () => {
    const server = answers();
    const ask = (id: number, docId: string) => server.reply(connection, frame(request(id, 'corrupt', [docId])));
    for (let i = 0; i <= 1024; i++) await ask(i, `d${i}`);
    await ask(2000, 'd1024');
    await ask(2001, 'd1');
    expect(errors).toHaveLength(1025);
    await ask(2002, 'd0');
    await ask(2003, 'd0');
    expect((errors as StoreError[]).slice(1025).map((error) => error.docId)).toEqual(['d0']);
  });

  it("should keep a client's bad input and a store's race out of onError", async () => {
    expect(await reply(request(1, 'missing'))).toMatchObject({ error: { code: 404 } });
    expect(await reply(request(2, 'raced'))).toMatchObject({ error: { code: -32000 } });
    expect(errors).toEqual([]);
  });
});
