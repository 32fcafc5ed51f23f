/**
 * Watches the client-to-server bytes of one WebSocket connection (the HTTP upgrade request, then
 * frames) and tells when the client sent its Close frame: from then on the socket is CLOSING, no
 * longer open, whatever the TCP connection still does during the closing handshake.
 */
export function closeFrameWatch(): (chunk: Buffer) => boolean {
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  let closed = false;
  return chunk => {
    if (closed) return true;
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return false;
      upgraded = true;
      buffer = buffer.subarray(end + 4);
    }
    // One frame at a time: 2 header bytes, an extended length, the client's 4-byte mask, the payload.
    for (;;) {
      if (buffer.length < 2) return false;
      const opcode = buffer[0] & 0x0f;
      if (opcode === 0x8) return (closed = true);
      const short = buffer[1] & 0x7f;
      const lengthBytes = short === 126 ? 2 : short === 127 ? 8 : 0;
      const maskBytes = buffer[1] & 0x80 ? 4 : 0;
      const header = 2 + lengthBytes + maskBytes;
      if (buffer.length < header) return false;
      const length = short === 126 ? buffer.readUInt16BE(2) : short === 127 ? Number(buffer.readBigUInt64BE(2)) : short;
      if (buffer.length < header + length) return false;
      buffer = buffer.subarray(header + length);
    }
  };
}
