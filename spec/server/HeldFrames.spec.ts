import { HeldFrames } from '../../src/server/HeldFrames.js';

describe('HeldFrames', () => {
  it('should handle a frame at once when ready and nothing waits', () => {
    const handled: string[] = [];
    const held = new HeldFrames((frame) => handled.push(String(frame)), () => true);
    held.push(Buffer.from('a'));
    expect([handled, held.count]).toEqual([['a'], 0]);
  });

  it('should hold frames while not ready and handle them in order, a new one behind them', () => {
    const handled: string[] = [];
    let ready = false;
    const held = new HeldFrames((frame) => handled.push(String(frame)), () => ready);
    held.push(Buffer.from('a'));
    held.push(Buffer.from('bb'));
    expect([held.count, held.bytes]).toEqual([2, 3]);
    ready = true;
    held.push(Buffer.from('c'));
    expect(handled).toEqual([]);
    held.drain();
    expect([handled, held.count, held.bytes]).toEqual([['a', 'bb', 'c'], 0, 0]);
  });

  it('should stop draining as soon as handling a frame makes it not ready', () => {
    const handled: string[] = [];
    let ready = false;
    const held = new HeldFrames((frame) => ((ready = false), handled.push(String(frame))), () => ready);
    for (const text of ['a', 'b']) held.push(Buffer.from(text));
    ready = true;
    held.drain();
    expect([handled, held.count]).toEqual([['a'], 1]);
  });

  it('should drop every waiting frame on clear', () => {
    const held = new HeldFrames(() => undefined, () => false);
    held.push(Buffer.from('abc'));
    held.clear();
    expect([held.count, held.bytes]).toEqual([0, 0]);
  });
});
