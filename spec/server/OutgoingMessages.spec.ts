import { OutgoingMessages } from '../../src/server/OutgoingMessages.js';
import type { MessageSink } from '../../src/server/OutgoingMessages.js';

/**
 * A socket that keeps what it was handed, and writes each frame out when the spec says so; its
 * `bufferedAmount` is the bytes of the frames not yet written out, and `others` (frames `ws`
 * sends by itself: pings, pongs, a close).
 */
function recordingSocket() {
  const frames: Array<{ text: string; fin: boolean; done: (error?: Error) => void }> = [];
  const held = { others: 0 };
  let buffered = 0;
  const socket = {
    send: (data: Buffer, options: { fin?: boolean }, done: (error?: Error) => void) => {
      buffered += data.length;
      frames.push({
        text: String(data),
        fin: options.fin !== false,
        done: (error) => {
          buffered -= data.length;
          done(error);
        },
      });
    },
    get bufferedAmount() {
      return buffered + held.others;
    },
  } as unknown as MessageSink;
  return { socket, frames, held };
}

describe('OutgoingMessages', () => {
  it('should hand a message no longer than a fragment over at once, whole, and tell when it is written', () => {
    const { socket, frames } = recordingSocket();
    const out = new OutgoingMessages(socket, 4);
    const written: number[] = [];
    out.send(Buffer.from('abcd'), (bytes) => written.push(bytes));
    out.send(Buffer.from('ef'));
    expect(frames.map(({ text, fin }) => [text, fin])).toEqual([['abcd', true], ['ef', true]]);
    expect(out.unsent).toBe(0);
    frames[0].done();
    expect(written).toEqual([4]);
  });

  it('should send a longer message fragment by fragment, each once the one before is written, and what comes meanwhile after its last', () => {
    const { socket, frames } = recordingSocket();
    const out = new OutgoingMessages(socket, 4);
    const written: number[] = [];
    out.send(Buffer.from('0123456789'), (bytes) => written.push(bytes));
    out.send(Buffer.from('next'));
    out.send(Buffer.from('long one'));
    expect(frames.map(({ text, fin }) => [text, fin])).toEqual([['0123', false]]);
    expect(out.unsent).toBe(6 + 4 + 8);
    frames[0].done();
    expect(frames.map(({ text }) => text)).toEqual(['0123', '4567']);
    frames[1].done();
    // The last fragment, then the short message, then the first fragment of the next long one.
    expect(frames.map(({ text, fin }) => [text, fin]).slice(2)).toEqual([['89', true], ['next', true], ['long', false]]);
    expect([written, out.unsent]).toEqual([[4, 4], 4]);
    frames[2].done();
    expect(written).toEqual([4, 4, 2]);
    frames[4].done();
    expect(frames.map(({ text, fin }) => [text, fin]).slice(5)).toEqual([[' one', true]]);
    expect(out.unsent).toBe(0);
  });

  it('should hand everything over at once on flush, the rest of a long message as its last fragment, and send nothing twice', () => {
    const { socket, frames } = recordingSocket();
    const out = new OutgoingMessages(socket, 4);
    const written: number[] = [];
    out.send(Buffer.from('0123456789'), (bytes) => written.push(bytes));
    out.send(Buffer.from('next'));
    out.flush();
    expect(frames.map(({ text, fin }) => [text, fin])).toEqual([['0123', false], ['456789', true], ['next', true]]);
    expect(out.unsent).toBe(0);
    // The first fragment is written out after the flush: its successor was sent already.
    frames[0].done();
    frames[1].done();
    expect([frames.length, written]).toEqual([3, [4, 6]]);
    out.send(Buffer.from('whole message'));
    expect(frames.map(({ text, fin }) => [text, fin]).slice(3)).toEqual([['whole message', true]]);
  });

  it('should hand over the rest of a message whose fragment failed, each failing in turn, and then the messages behind it', () => {
    const { socket, frames } = recordingSocket();
    const out = new OutgoingMessages(socket, 4);
    const failed: Array<[number, boolean]> = [];
    out.send(Buffer.from('0123456789'), (bytes, error) => failed.push([bytes, error !== undefined]));
    out.send(Buffer.from('next'));
    const gone = new Error('socket closed');
    frames[0].done(gone);
    frames[1].done(gone);
    frames[2].done(gone);
    expect(failed).toEqual([[4, true], [4, true], [2, true]]);
    expect(frames.map(({ text }) => text)).toEqual(['0123', '4567', '89', 'next']);
    expect(out.unsent).toBe(0);
  });

  // Found in review: on a slow link every broadcast was handed over at once, and Node writes what
  // queued behind a write as one, telling of none of it before all of it is written: the ping of
  // a tick waited behind all of it, and no write told of the client's reading for minutes.
  it('should hold messages while the socket holds aheadBytes not yet written out, and hand them over as it writes', () => {
    const { socket, frames } = recordingSocket();
    const out = new OutgoingMessages(socket, 8, 6);
    const written: string[] = [];
    for (const text of ['aaaa', 'bb', 'cc', 'dddd', 'e']) out.send(Buffer.from(text), () => written.push(text));
    // 'aaaa' and 'bb' make 6: the rest waits, counted as unsent.
    expect(frames.map(({ text }) => text)).toEqual(['aaaa', 'bb']);
    expect(out.unsent).toBe(2 + 4 + 1);
    frames[0].done();
    // 2 held: 'cc' and 'dddd' make 8, past 6.
    expect(frames.map(({ text }) => text)).toEqual(['aaaa', 'bb', 'cc', 'dddd']);
    frames[1].done();
    expect(frames).toHaveLength(4);
    // 'dddd' alone is under 6.
    frames[2].done();
    expect(frames.map(({ text }) => text).slice(4)).toEqual(['e']);
    frames[3].done();
    frames[4].done();
    expect([written, out.unsent]).toEqual([['aaaa', 'bb', 'cc', 'dddd', 'e'], 0]);
  });

  it('should hand over a message larger than aheadBytes when nothing it handed is unwritten, and everything on flush', () => {
    const { socket, frames, held } = recordingSocket();
    const out = new OutgoingMessages(socket, 100, 4);
    // Bytes it did not hand over would never tell it of room: they do not hold its messages.
    held.others = 10;
    out.send(Buffer.from('0123456789'));
    out.send(Buffer.from('next'));
    out.send(Buffer.from('last'));
    expect(frames.map(({ text }) => text)).toEqual(['0123456789']);
    out.flush();
    expect(frames.map(({ text }) => text)).toEqual(['0123456789', 'next', 'last']);
    expect(out.unsent).toBe(0);
  });
});
