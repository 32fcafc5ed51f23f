import type { WebSocket } from 'ws';
import { ReadHolds } from '../../src/server/ReadHolds.js';
import { ReplyBacklog } from '../../src/server/ReplyBacklog.js';

describe('ReplyBacklog', () => {
  function setup() {
    const socket = { pause: () => undefined, resume: () => undefined } as unknown as WebSocket;
    const holds = new ReadHolds();
    let pauses = 0;
    const backlog = new ReplyBacklog({ maxReplyBytes: 100, maxCallsInFlight: 10, maxRequestBytes: 1000 }, holds, () => pauses++);
    return { socket, holds, backlog, pauses: () => pauses };
  }

  it('should hold a socket whose queued reply bytes reach the limit, until they are below half', () => {
    const { socket, holds, backlog, pauses } = setup();
    backlog.add(socket, { bytes: 99 });
    expect(holds.held(socket)).toBe(false);
    backlog.add(socket, { bytes: 1 });
    expect([holds.held(socket, 'backlog'), pauses()]).toEqual([true, 1]);
    backlog.add(socket, { bytes: -50 });
    expect(holds.held(socket)).toBe(true);
    backlog.add(socket, { bytes: -1 });
    expect([holds.held(socket), backlog.bytes(socket)]).toEqual([false, 49]);
  });

  it('should hold a socket whose calls in flight reach the limit, and release only once both are below half', () => {
    const { socket, holds, backlog, pauses } = setup();
    backlog.add(socket, { calls: 10 });
    expect(holds.held(socket)).toBe(true);
    // Answered: the calls become reply bytes, still over half.
    backlog.add(socket, { calls: -10, bytes: 60 });
    expect(holds.held(socket)).toBe(true);
    backlog.add(socket, { bytes: -60 });
    expect([holds.held(socket), pauses()]).toEqual([false, 1]);
  });

  it('should hold a socket whose frames in flight reach their byte limit, however few the calls, until they are below half', () => {
    const { socket, holds, backlog, pauses } = setup();
    backlog.add(socket, { calls: 1, requestBytes: 600 });
    expect(holds.held(socket)).toBe(false);
    backlog.add(socket, { calls: 1, requestBytes: 400 });
    expect([holds.held(socket, 'backlog'), pauses()]).toEqual([true, 1]);
    // Not reply bytes: a held socket with none queued is not asked for pongs it cannot read.
    expect(backlog.bytes(socket)).toBe(0);
    backlog.add(socket, { calls: -1, requestBytes: -400 });
    expect(holds.held(socket)).toBe(true);
    backlog.add(socket, { calls: -1, requestBytes: -101 });
    expect([holds.held(socket), pauses()]).toEqual([false, 1]);
  });
});
