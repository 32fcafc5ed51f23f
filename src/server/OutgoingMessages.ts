import type { WebSocket } from 'ws';

/** Told how many bytes of a message were written out (or failed to be: `error`). */
export type Written = (bytes: number, error?: Error) => void;

/** What `OutgoingMessages` uses of a socket (`ws`'s `WebSocket`): its `send`, and what waits in it. */
export type MessageSink = Pick<WebSocket, 'send' | 'bufferedAmount'>;

/**
 * One socket's outgoing text messages, in the order they are given. One longer than
 * `fragmentBytes` goes out as fragments of one message (the peer reads one message), each handed
 * to the socket once the one before it is written out: the writing of a long reply shows as it
 * goes, where handed over whole (or in fragments all at once, which Node writes out together) it
 * showed only once all of it was written. The server takes writing for a pong: a client reading
 * a 30 MB reply at 1 MB/s proves itself alive at each fragment, not after 30 s, two ping
 * intervals. Messages given meanwhile wait behind it (a frame sent between two fragments would be
 * taken for the next one; a ping may come between: it is a control frame), and so do messages
 * given while the socket holds `aheadBytes` or more that are not written out yet: what the socket
 * holds is what a ping sent now waits behind, and Node writes what queued behind a write as one,
 * telling of none of it before all of it is written (on a slow link, 20 MB of broadcasts
 * handed over at once showed the client's reading only minutes later). Before the socket is
 * closed, `flush` hands everything over, so that the close frame comes after all of it.
 *
 * ## Example
 * ```ts
 * const out = new OutgoingMessages(socket, 256 * 1024, 64 * 1024);
 * out.send(Buffer.from(bigReply), (bytes) => backlog.add(socket, { bytes: -bytes }));
 * out.send(broadcast); // after the reply's last fragment
 * out.unsent; // bytes given and not yet handed to the socket
 * out.flush(); // then socket.close()
 * ```
 */
export class OutgoingMessages {
  private readonly waiting: Array<{ data: Buffer; written: Written | undefined }> = [];
  /** The long message being sent, fragment by fragment: its bytes and where its next fragment starts. */
  private current: { data: Buffer; next: number; written: Written | undefined } | undefined;
  /** Set by `flush`: every message is handed over whole from then on. */
  private whole = false;
  private unsentBytes = 0;
  /** Messages and fragments handed to the socket that it has not told of yet. */
  private handed = 0;

  /**
   * @param socket where the messages go
   * @param fragmentBytes the most bytes of one frame
   * @param aheadBytes bytes held by the socket (`bufferedAmount`) at which the next message waits here until some are written out
   */
  constructor(
    private readonly socket: MessageSink,
    private readonly fragmentBytes: number,
    private readonly aheadBytes = Infinity,
  ) {}

  /** Bytes given and not yet handed to the socket (messages waiting behind a long one or a full socket, and a long one's fragments to come). */
  get unsent(): number {
    return this.unsentBytes;
  }

  /**
   * Sends `data` as one text message once the messages given before it are handed over.
   *
   * @param data the message's UTF-8 bytes
   * @param written told of each part as it is written out (all of it at once, or each fragment)
   */
  send(data: Buffer, written?: Written): void {
    this.unsentBytes += data.length;
    this.waiting.push({ data, written });
    this.handOver();
  }

  /**
   * Hands everything given over at once, in order, the rest of a long message as its last
   * fragment: the socket is about to be closed, and its close frame must come after them (a
   * close frame between two fragments would leave the client without the message).
   */
  flush(): void {
    this.whole = true;
    const current = this.current;
    if (current) this.sendFragment(current, current.data.length - current.next);
    this.handOver();
  }

  /** Hands over the messages that wait, in order, while no long one is being sent and the socket is not full. */
  private handOver(): void {
    while (!this.current && this.waiting.length > 0 && (this.whole || this.handed === 0 || this.socket.bufferedAmount < this.aheadBytes)) {
      const { data, written } = this.waiting.shift() as { data: Buffer; written: Written | undefined };
      if (this.whole || data.length <= this.fragmentBytes) {
        this.unsentBytes -= data.length;
        this.hand(data, TEXT, (error) => written?.(data.length, error));
      } else {
        const current = { data, next: 0, written };
        this.current = current;
        this.sendFragment(current, this.fragmentBytes);
      }
    }
  }

  /** Hands `data` to the socket; once it tells of it, `done`, then the messages that wait for room. */
  private hand(data: Buffer, options: { binary: false; fin?: boolean }, done: (error?: Error) => void): void {
    this.handed++;
    this.socket.send(data, options, (error) => {
      this.handed--;
      done(error);
      this.handOver();
    });
  }

  /**
   * Hands over the next `size` bytes of the long message, and the fragment after them once they
   * are written out (or failed: the socket is gone, and the rest fails at once); after its last
   * fragment, the messages that waited behind it.
   */
  private sendFragment(message: { data: Buffer; next: number; written: Written | undefined }, size: number): void {
    const { data, next: start, written } = message;
    const end = Math.min(start + size, data.length);
    const fin = end === data.length;
    message.next = end;
    this.unsentBytes -= end - start;
    this.hand(data.subarray(start, end), { binary: false, fin }, (error) => {
      written?.(end - start, error);
      // A flush may have sent the rest meanwhile.
      if (message.next === end && !fin) this.sendFragment(message, this.fragmentBytes);
    });
    if (fin) this.current = undefined;
  }
}

/** `ws` send options of a whole message: text (opcode 1), given as UTF-8 bytes. */
const TEXT = { binary: false } as const;
