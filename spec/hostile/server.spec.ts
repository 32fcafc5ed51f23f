import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { MemoryServerStore, startServer, type RunningServer, type StartServerOptions } from '../../src/server/index.js';
import { MAX_DEPTH } from '../../src/server/validate.js';
import type { Change, CommitChangesResult, JSONPatchOp, PatchesSnapshot } from '../../src/types.js';
import { connectClient, type Frame, type WsTestClient } from '../helpers/wsClient.js';

// Hostile input to the reference server that spec/server/* does not already cover: values nested
// up to (and past) the limit in every field, changes on a base rev from the future, reused change
// ids with different content, and a storm of 1,000 connections opened and dropped in every way a
// peer can drop. The server must answer each request correctly, never fault, and leave every
// committed document as it was.

let server: RunningServer;
let faults: unknown[];
let clients: WsTestClient[];

async function start(options: StartServerOptions = {}): Promise<void> {
  faults = [];
  server = await startServer({ port: 0, store: new MemoryServerStore(), onError: error => faults.push(error), ...options });
}

async function client(): Promise<WsTestClient> {
  const opened = await connectClient(server.url);
  clients.push(opened);
  return opened;
}

beforeEach(() => {
  clients = [];
});

afterEach(async () => {
  await Promise.all(clients.map(c => c.close()));
  await server.close();
});

function change(id: string, baseRev: number, ops: JSONPatchOp[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, baseRev, rev: baseRev + 1, ops, createdAt: 1000, committedAt: 0, ...extra };
}

function resultOf<T>(reply: Frame): T {
  if ('error' in reply) throw new Error(`expected a result, got ${JSON.stringify(reply.error).slice(0, 300)}`);
  return reply.result as T;
}

function errorOf(reply: Frame): { code: number; message: string; data?: Record<string, unknown> } {
  if (!('error' in reply)) throw new Error(`expected an error, got ${JSON.stringify(reply).slice(0, 300)}`);
  return reply.error as { code: number; message: string; data?: Record<string, unknown> };
}

async function commit(c: WsTestClient, docId: string, changes: unknown[]): Promise<Change[]> {
  return resultOf<CommitChangesResult>(await c.call('commitChanges', [docId, changes])).changes;
}

/** `levels` objects nested under key `a`, the innermost holding `leaf`. */
function nested(levels: number, leaf: unknown = 'bottom'): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** Nesting depth of a JSON value (a scalar is 0), measured without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * What the server says a document is: its committed history and its materialised state. (LWW
 * history is one change synthesised per call, with a fresh id and clock: only its rows count.)
 */
async function truth(c: WsTestClient, docId: string): Promise<{ history: unknown[]; state: unknown }> {
  const changes = resultOf<Change[]>(await c.call('getChangesSince', [docId, 0]));
  const history = docId.startsWith('lww') ? changes.flatMap(ch => ch.ops) : changes;
  const envelope = resultOf<PatchesSnapshot>(await c.call('getDoc', [docId]));
  const state = applyPatch(envelope.state ?? {}, envelope.changes.flatMap(ch => ch.ops), { mode: 'lenient' });
  return { history, state };
}

/**
 * Resolves once `condition()` holds, yielding to the event loop between checks. For server-side
 * effects a spec cannot subscribe to (a socket's 'close' reaching the server); bounded, so a
 * condition that never holds fails with `what` instead of hanging.
 */
async function until(condition: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${limitMs} ms`);
    await new Promise(resolve => setImmediate(resolve));
  }
}

describe('hostile input to the server', () => {
  describe('deeply nested values', () => {
    it('should accept a change exactly MAX_DEPTH levels deep, store it, broadcast it and read it back intact, and refuse one level more', async () => {
      await start();
      const [writer, watcher] = [await client(), await client()];
      resultOf(await watcher.call('subscribe', [['deep']]));
      // Levels: the change object, its ops array, the op, then the value's own levels.
      const legal = nested(MAX_DEPTH - 3);
      const tooDeep = nested(MAX_DEPTH - 2);
      const [committed] = await commit(writer, 'deep', [change('legal', 0, [{ op: 'add', path: '/v', value: legal }])]);
      expect(committed.ops[0].value).toEqual(legal);
      const broadcast = await watcher.notification('changesCommitted', 'deep');
      expect(((broadcast.params as { changes: Change[] }).changes[0].ops[0] as JSONPatchOp).value).toEqual(legal);

      expect(errorOf(await writer.call('commitChanges', ['deep', [change('too-deep', 1, [{ op: 'replace', path: '/w', value: tooDeep }])]]))).toMatchObject({
        code: 400,
        data: { changeId: 'too-deep', scope: 'change' },
      });
      const { history, state } = await truth(writer, 'deep');
      expect((history as Change[]).map(ch => ch.id)).toEqual(['legal']);
      expect(state).toEqual({ v: legal });
      expect(watcher.notifications('changesCommitted')).toHaveLength(1);
      expect(faults.map(String)).toEqual([]);
    });

    it('should answer deep nesting in every other field of a request with an error reply, and stay usable', async () => {
      await start();
      const c = await client();
      const deepArray = '['.repeat(20_000) + ']'.repeat(20_000);
      const deepObject = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
      const frames: Array<[string, string, { code: number; data?: unknown }]> = [
        ['subscribe ids', `{"jsonrpc":"2.0","id":1,"method":"subscribe","params":[${deepArray}]}`, { code: 400 }],
        ['getDoc docId', `{"jsonrpc":"2.0","id":2,"method":"getDoc","params":[${deepObject}]}`, { code: 400 }],
        ['getChangesSince rev', `{"jsonrpc":"2.0","id":3,"method":"getChangesSince","params":["d",${deepArray}]}`, { code: 400 }],
        ['commitChanges changes', `{"jsonrpc":"2.0","id":4,"method":"commitChanges","params":["d",${deepArray}]}`, { code: 400 }],
        ['change metadata', `{"jsonrpc":"2.0","id":5,"method":"commitChanges","params":["d",[{"id":"meta","ops":[],"user":${deepObject}}]]}`, { code: 400, data: { changeId: 'meta', scope: 'change' } }],
        ['op from', `{"jsonrpc":"2.0","id":6,"method":"commitChanges","params":["d",[{"id":"from","ops":[{"op":"move","path":"/a","from":${deepArray}}]}]]}`, { code: 400, data: { changeId: 'from', scope: 'change' } }],
        ['params object', `{"jsonrpc":"2.0","id":7,"method":"getDoc","params":${deepObject}}`, { code: 400 }],
        ['unknown method params', `{"jsonrpc":"2.0","id":8,"method":"nope","params":${deepArray}}`, { code: -32000 }],
      ];
      for (const [, frame] of frames) c.sendRaw(frame);
      for (const [index, [what, , expected]] of frames.entries()) {
        expect({ what, error: errorOf(await c.reply(index + 1)) }).toEqual({ what, error: expect.objectContaining(expected) });
      }
      // An id nested deep cannot be echoed: -32600 with id null.
      c.sendRaw(`{"jsonrpc":"2.0","id":${deepObject},"method":"getDoc","params":["d"]}`);
      expect(errorOf(await c.reply(null))).toMatchObject({ code: -32600 });
      // A batch whose one element is a deep array: one -32600 per element.
      c.sendRaw(`[${deepArray}]`);
      expect(await c.next(Array.isArray)).toEqual([expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) })]);
      expect(resultOf(await c.call('getDoc', ['d']))).toEqual({ state: null, rev: 0, changes: [] });
      expect(faults.map(String)).toEqual([]);
    });

    // Found here, fixed: MAX_DEPTH bounded one change's JSON, not the document, so legal commits
    // nested it until every snapshot overflowed the stack; an op's path now counts into the depth
    // (`validate.ts`).
    it('should not let a run of legal commits nest a document deeper than MAX_DEPTH', async () => {
      await start({ snapshotEvery: 3 });
      const c = await client();
      let path = '';
      let rev = 0;
      const refused: number[] = [];
      for (let k = 0; k < 12; k++) {
        const reply = await c.call('commitChanges', ['tower', [change(`layer${k}`, rev, [{ op: 'add', path: `${path}/a`, value: nested(249, {}) }])]]);
        if ('error' in reply) {
          expect(errorOf(reply)).toMatchObject({ code: 400, data: { changeId: `layer${k}`, scope: 'change' } });
          refused.push(k);
          break;
        }
        rev++;
        path += '/a'.repeat(250);
      }
      expect(faults.map(String)).toEqual([]);
      expect(refused).not.toEqual([]);
      expect(depthOf((await truth(c, 'tower')).state)).toBeLessThanOrEqual(MAX_DEPTH);
    });
  });

  describe('changes on a base rev from the future', () => {
    it('should refuse OT commits on a future baseRev with 409 scope doc, on a new doc and on one with history, committing and broadcasting nothing', async () => {
      await start();
      const [writer, watcher] = [await client(), await client()];
      resultOf(await watcher.call('subscribe', [['fresh', 'doc']]));
      await commit(writer, 'doc', [change('c1', 0, [{ op: 'replace', path: '/n', value: 1 }])]);
      await commit(writer, 'doc', [change('c2', 1, [{ op: 'replace', path: '/n', value: 2 }])]);
      await watcher.notification('changesCommitted', 'doc');
      await watcher.notification('changesCommitted', 'doc');
      const before = await truth(writer, 'doc');

      const future: Array<[string, number]> = [
        ['fresh', 5],
        ['doc', 3],
        ['doc', 1_000_000],
        ['doc', Number.MAX_SAFE_INTEGER],
      ];
      for (const [docId, baseRev] of future) {
        const ops = [{ op: 'replace', path: '/n', value: 'from the future' }];
        const reply = await writer.call('commitChanges', [docId, [change(`future-${docId}-${baseRev}`, baseRev, ops, { rev: undefined })]]);
        const headRev = docId === 'doc' ? 2 : 0;
        expect({ docId, baseRev, error: errorOf(reply) }).toEqual({ docId, baseRev, error: expect.objectContaining({ code: 409, data: { scope: 'doc', headRev } }) });
      }
      // A later change of the same batch on the future base does not sneak in either.
      expect(errorOf(await writer.call('commitChanges', ['doc', [change('f1', 9, []), change('f2', 9, [{ op: 'replace', path: '/n', value: 9 }])]]))).toMatchObject({ code: 409 });
      // At the head there is nothing to hand out; past it the asker saw revs this server never had.
      expect(resultOf(await writer.call('getChangesSince', ['doc', 2]))).toEqual([]);
      expect(errorOf(await writer.call('getChangesSince', ['doc', 3]))).toMatchObject({ code: 409, data: { scope: 'doc', headRev: 2 } });
      expect(errorOf(await writer.call('getChangesSince', ['doc', Number.MAX_SAFE_INTEGER]))).toMatchObject({ code: 409, data: { scope: 'doc', headRev: 2 } });

      expect(await truth(writer, 'doc')).toEqual(before);
      expect(resultOf(await writer.call('getDoc', ['fresh']))).toEqual({ state: null, rev: 0, changes: [] });
      // The next real commit is rev 3, and it is the only notification the refusals were followed by.
      const [next] = await commit(writer, 'doc', [change('c3', 2, [{ op: 'replace', path: '/n', value: 3 }])]);
      expect(next.rev).toBe(3);
      const after = await watcher.notification('changesCommitted', 'doc');
      expect((after.params as { changes: Change[] }).changes.map(ch => ch.id)).toEqual(['c3']);
      expect(watcher.notifications('changesCommitted')).toHaveLength(3);
      expect(faults.map(String)).toEqual([]);
    });

    it('should refuse an LWW write on a future baseRev like an OT one (409 with the head rev), storing nothing and keeping revs dense', async () => {
      await start();
      const c = await client();
      await commit(c, 'lww-doc', [change('w1', 0, [{ op: 'replace', path: '/a', value: 1, ts: 1000 }])]);
      const refused = await c.call('commitChanges', ['lww-doc', [change('w2', 1_000_000, [{ op: 'replace', path: '/b', value: 2, ts: 1001 }])]]);
      expect(errorOf(refused)).toMatchObject({ code: 409, data: { scope: 'doc', headRev: 1 } });
      expect(errorOf(await c.call('getChangesSince', ['lww-doc', 2]))).toMatchObject({ code: 409, data: { scope: 'doc', headRev: 1 } });
      expect(resultOf(await c.call('getChangesSince', ['lww-doc', 1]))).toEqual([]);
      // The same change on a real base commits, once, as rev 2.
      const [next] = await commit(c, 'lww-doc', [change('w2', 1, [{ op: 'replace', path: '/b', value: 2, ts: 1001 }])]);
      expect(next.rev).toBe(2);
      expect((await truth(c, 'lww-doc')).state).toEqual({ a: 1, b: 2 });
      expect(faults.map(String)).toEqual([]);
    });
  });

  describe('duplicate change ids with different content', () => {
    it('should keep the first content of an OT change id: a resend with other ops, from any connection, before or after a snapshot, gets the committed copy and commits nothing', async () => {
      await start({ snapshotEvery: 3 });
      const [a, b, watcher] = [await client(), await client(), await client()];
      resultOf(await watcher.call('subscribe', [['doc']]));
      const [original] = await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/owner', value: 'alice' }])]);
      await watcher.notification('changesCommitted', 'doc');

      // Same id, other content, same base: the committed copy comes back, nothing new is stored.
      expect(await commit(a, 'doc', [change('c1', 0, [{ op: 'replace', path: '/owner', value: 'mallory' }])])).toEqual([original]);
      // From another connection, on the head.
      expect(await commit(b, 'doc', [change('c1', 1, [{ op: 'replace', path: '/evil', value: true }])])).toEqual([original]);

      // Push c1 behind a snapshot, then try again.
      for (let rev = 1; rev <= 4; rev++) await commit(a, 'doc', [change(`n${rev}`, rev, [{ op: 'replace', path: `/k${rev}`, value: rev }])]);
      for (let i = 0; i < 4; i++) await watcher.notification('changesCommitted', 'doc');
      expect(server.stats.snapshots).toBeGreaterThan(0);
      const resent = await commit(b, 'doc', [change('c1', 5, [{ op: 'remove', path: '/owner' }])]);
      expect(resent).toEqual([original]);
      // Mixed with a genuinely new change: only the new one is committed, on the head.
      const mixed = await commit(b, 'doc', [change('n2', 5, [{ op: 'replace', path: '/k2', value: 'changed' }]), change('fresh', 5, [{ op: 'replace', path: '/fresh', value: 1 }])]);
      expect(mixed.map(ch => [ch.id, ch.rev])).toEqual([
        ['n2', 3],
        ['fresh', 6],
      ]);
      expect(mixed[0].ops).toEqual([{ op: 'replace', path: '/k2', value: 2 }]);

      const { history, state } = await truth(a, 'doc');
      expect((history as Change[]).map(ch => ch.id)).toEqual(['c1', 'n1', 'n2', 'n3', 'n4', 'fresh']);
      expect(state).toEqual({ owner: 'alice', k1: 1, k2: 2, k3: 3, k4: 4, fresh: 1 });
      const last = await watcher.notification('changesCommitted', 'doc');
      expect((last.params as { changes: Change[] }).changes.map(ch => ch.id)).toEqual(['fresh']);
      expect(watcher.notifications('changesCommitted')).toHaveLength(6);
      expect(faults.map(String)).toEqual([]);
    });

    it('should keep the first content of an LWW change id: a resend with another value is answered with the stored row and stores nothing', async () => {
      await start();
      const [a, b, watcher] = [await client(), await client(), await client()];
      resultOf(await watcher.call('subscribe', [['lww-doc']]));
      await commit(a, 'lww-doc', [change('w1', 0, [{ op: 'replace', path: '/name', value: 'alice', ts: 1000 }, { op: '@inc', path: '/n', value: 1, ts: 1000 }])]);
      await watcher.notification('changesCommitted', 'lww-doc');

      const [again] = await commit(b, 'lww-doc', [change('w1', 1, [{ op: 'replace', path: '/name', value: 'mallory', ts: 999_999 }, { op: '@inc', path: '/n', value: 100, ts: 999_999 }])]);
      expect(again.rev).toBe(1);
      expect(again.ops.map(op => [op.path, op.value]).sort()).toEqual([
        ['/n', 1],
        ['/name', 'alice'],
      ]);
      const [next] = await commit(a, 'lww-doc', [change('w2', 1, [{ op: 'replace', path: '/other', value: true, ts: 1001 }])]);
      expect(next.rev).toBe(2);
      expect((await truth(a, 'lww-doc')).state).toEqual({ name: 'alice', n: 1, other: true });
      await watcher.notification('changesCommitted', 'lww-doc');
      expect(watcher.notifications('changesCommitted').map(f => (f.params as { changes: Change[] }).changes[0].id)).toEqual(['w1', 'w2']);
      expect(faults.map(String)).toEqual([]);
    });

    it('should treat one change id in two documents as two changes', async () => {
      await start();
      const c = await client();
      const [one] = await commit(c, 'one', [change('same', 0, [{ op: 'replace', path: '/doc', value: 1 }])]);
      const [two] = await commit(c, 'two', [change('same', 0, [{ op: 'replace', path: '/doc', value: 2 }])]);
      expect([one.rev, two.rev]).toEqual([1, 1]);
      expect((await truth(c, 'one')).state).toEqual({ doc: 1 });
      expect((await truth(c, 'two')).state).toEqual({ doc: 2 });
    });
  });

  describe('1,000 connections opened and dropped', () => {
    /** Opens a WebSocket and resolves once it is open. */
    function open(): Promise<WebSocket> {
      return new Promise((resolve, reject) => {
        const socket = new WebSocket(server.url);
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      });
    }

    /** Sends one request and resolves with its reply. */
    function ask(socket: WebSocket, id: number, method: string, params: unknown[]): Promise<Frame> {
      return new Promise((resolve, reject) => {
        socket.on('message', data => {
          const frame = JSON.parse(String(data)) as Frame;
          if (frame.id === id) resolve(frame);
        });
        socket.once('error', reject);
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    }

    /** A raw TCP WebSocket handshake; resolves with the socket once the server switched protocols. */
    function rawUpgrade(): Promise<Socket> {
      return new Promise((resolve, reject) => {
        const socket = tcpConnect(server.port, '127.0.0.1');
        let head = '';
        socket.once('error', reject);
        socket.on('data', function onData(chunk) {
          head += chunk.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          socket.off('data', onData);
          if (head.startsWith('HTTP/1.1 101')) resolve(socket);
          else reject(new Error(head.split('\r\n')[0]));
        });
        socket.write(
          `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    }

    /** The first half of one masked client text frame (payload < 64 KiB). */
    function halfFrame(text: string): Buffer {
      const payload = Buffer.from(text);
      const mask = randomBytes(4);
      const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
      const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
      return Buffer.concat([header, mask, masked.subarray(0, payload.length >> 1)]);
    }

    it('should answer each, survive every way of dropping, forget their subscriptions and leave committed docs unchanged', async () => {
      await start();
      const watcher = await client();
      resultOf(await watcher.call('subscribe', [['hot', 'lww-hot']]));
      await commit(watcher, 'hot', [change('h1', 0, [{ op: 'replace', path: '/list', value: [1, 2, 3] }])]);
      await commit(watcher, 'lww-hot', [change('l1', 0, [{ op: 'replace', path: '/x', value: 1, ts: 1000 }])]);
      const before = { hot: await truth(watcher, 'hot'), lww: await truth(watcher, 'lww-hot') };
      const baseline = server.stats;

      const TOTAL = 1000;
      const WAVE = 100;
      let upgrades = 0;
      const drop = async (i: number): Promise<void> => {
        switch (i % 5) {
          case 0: {
            // Ask, check the answer, then vanish without a closing handshake.
            const socket = await open();
            upgrades++;
            const reply = await ask(socket, i, 'getDoc', ['hot']);
            expect(resultOf<PatchesSnapshot>(reply).changes.map(ch => ch.id)).toEqual(['h1']);
            socket.terminate();
            return;
          }
          case 1: {
            // Subscribe to the busy docs, then vanish: the server must forget the subscription.
            const socket = await open();
            upgrades++;
            expect(resultOf(await ask(socket, i, 'subscribe', [['hot', 'lww-hot']]))).toEqual(['hot', 'lww-hot']);
            socket.terminate();
            return;
          }
          case 2: {
            // A commit that would change the doc, dropped before its frame is complete.
            const socket = await rawUpgrade();
            upgrades++;
            const frame = JSON.stringify({ jsonrpc: '2.0', id: i, method: 'commitChanges', params: ['hot', [change(`never-${i}`, 1, [{ op: 'replace', path: '/list', value: 'gone' }])]] });
            socket.end(halfFrame(frame));
            socket.destroy();
            return;
          }
          case 3: {
            // A read whose reply finds the socket gone.
            const socket = await open();
            upgrades++;
            socket.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'getChangesSince', params: ['hot', 0] }));
            socket.terminate();
            return;
          }
          default: {
            // A clean close right after opening, and a TCP connection cut before it upgrades.
            const socket = await open();
            upgrades++;
            await new Promise<void>(resolve => {
              socket.once('close', () => resolve());
              socket.close(1000, 'bye');
            });
            const bare = tcpConnect(server.port, '127.0.0.1');
            await new Promise<void>((resolve, reject) => {
              bare.once('connect', () => resolve());
              bare.once('error', reject);
            });
            bare.destroy();
          }
        }
      };
      for (let wave = 0; wave < TOTAL; wave += WAVE) {
        await Promise.all(Array.from({ length: WAVE }, (_, k) => drop(wave + k)));
      }

      await until(() => server.stats.connections === baseline.connections, `the server to see ${TOTAL} connections close (open: ${server.stats.connections})`);
      expect(server.stats.connectionsTotal - baseline.connectionsTotal).toBe(upgrades);
      expect(upgrades).toBe(TOTAL);

      // Still serving, nothing committed by the storm, and broadcasts reach only the live subscriber.
      const late = await client();
      expect(await truth(late, 'hot')).toEqual(before.hot);
      expect(await truth(late, 'lww-hot')).toEqual(before.lww);
      const sentBefore = server.stats.notificationsSent;
      await commit(late, 'hot', [change('h2', 1, [{ op: 'add', path: '/list/-', value: 4 }])]);
      await commit(late, 'lww-hot', [change('l2', 1, [{ op: 'replace', path: '/x', value: 2, ts: 1001 }])]);
      await watcher.notification('changesCommitted', 'hot');
      await watcher.notification('changesCommitted', 'lww-hot');
      expect(server.stats.notificationsSent - sentBefore).toBe(2);
      expect(server.stats.changesCommitted - baseline.changesCommitted).toBe(2);
      expect(faults.map(String)).toEqual([]);
    }, 60_000);
  });
});
