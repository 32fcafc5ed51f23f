import type { WebSocket } from 'ws';
import { ReadHolds } from '../../src/server/ReadHolds.js';

/** A socket that records its pauses and resumes. */
function fakeSocket(): { socket: WebSocket; calls: string[] } {
  const calls: string[] = [];
  return { socket: { pause: () => calls.push('pause'), resume: () => calls.push('resume') } as unknown as WebSocket, calls };
}

describe('ReadHolds', () => {
  it('should pause on the first reason, resume on the last release, and say so', () => {
    const released: WebSocket[] = [];
    const holds = new ReadHolds((socket) => released.push(socket));
    const { socket, calls } = fakeSocket();
    holds.hold(socket, 'verdict');
    holds.hold(socket, 'backlog');
    holds.hold(socket, 'backlog');
    expect([holds.held(socket), holds.held(socket, 'verdict'), holds.held(socket, 'backlog')]).toEqual([true, true, true]);
    holds.release(socket, 'verdict');
    expect(calls).toEqual(['pause']);
    holds.release(socket, 'backlog');
    expect(calls).toEqual(['pause', 'resume']);
    expect(released).toEqual([socket]);
    expect(holds.held(socket)).toBe(false);
  });

  it('should do nothing when releasing a reason not held', () => {
    const holds = new ReadHolds();
    const { socket, calls } = fakeSocket();
    holds.release(socket, 'backlog');
    holds.hold(socket, 'verdict');
    holds.release(socket, 'backlog');
    expect(calls).toEqual(['pause']);
  });
});
