import { closeFrameWatch } from './closeFrameWatch.js';

/** A client frame as a browser sends it: FIN, the opcode, a masked payload of `length` bytes. */
function clientFrame(opcode: number, length: number): Buffer {
  const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, Buffer.from([1, 2, 3, 4]), Buffer.alloc(length, 0x88)]);
}

const upgrade = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\r\n');

describe('closeFrameWatch', () => {
  it('should see the Close frame after the upgrade and frames whose payload bytes look like one', () => {
    const saw = closeFrameWatch();
    const stream = Buffer.concat([upgrade, clientFrame(0x1, 5), clientFrame(0x2, 300), clientFrame(0x8, 2)]);
    // Fed in 7-byte pieces: headers and payloads split across chunks.
    const answers: boolean[] = [];
    for (let at = 0; at < stream.length; at += 7) answers.push(saw(stream.subarray(at, at + 7)));
    const closeStarts = stream.length - clientFrame(0x8, 2).length;
    expect(answers.indexOf(true)).toBe(Math.floor((closeStarts + 1) / 7));
    expect(answers.at(-1)).toBe(true);
  });

  it('should not call an open connection closing', () => {
    const saw = closeFrameWatch();
    expect(saw(upgrade)).toBe(false);
    expect(saw(Buffer.concat([clientFrame(0x1, 10), clientFrame(0x9, 0)]))).toBe(false);
  });
});
