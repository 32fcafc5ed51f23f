/**
 * One socket's frames that arrived while it may not be answered yet (its verdict is pending, or
 * its backlog holds it), kept in order and handled once it may be. Pausing a socket stops it
 * being read, but `ws` still hands over the frames it had already read (and inflates them); a
 * frame arriving while older ones wait goes behind them.
 *
 * ## Example
 * ```ts
 * const held = new HeldFrames((frame) => onFrame(connection, socket, frame), () => admitted && !holds.held(socket));
 * socket.on('message', (data) => held.push(toBuffer(data)));
 * // once the verdict admits it, or its backlog drains:
 * held.drain();
 * ```
 */
export class HeldFrames {
  private readonly frames: Buffer[] = [];
  private heldBytes = 0;

  /**
   * @param handle answers one frame
   * @param ready whether frames may be handled now (checked before each)
   */
  constructor(
    private readonly handle: (frame: Buffer) => void,
    private readonly ready: () => boolean,
  ) {}

  /** Frames waiting. */
  get count(): number {
    return this.frames.length;
  }

  /** Bytes of the frames waiting. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Handles `frame` at once if nothing waits and frames may be handled, else holds it behind the others. */
  push(frame: Buffer): void {
    if (this.frames.length === 0 && this.ready()) {
      this.handle(frame);
      return;
    }
    this.frames.push(frame);
    this.heldBytes += frame.length;
  }

  /** Handles waiting frames in order while frames may be handled (handling one may make it stop). */
  drain(): void {
    while (this.frames.length > 0 && this.ready()) {
      const frame = this.frames.shift() as Buffer;
      this.heldBytes -= frame.length;
      this.handle(frame);
    }
  }

  /** Drops every waiting frame. */
  clear(): void {
    this.frames.length = 0;
    this.heldBytes = 0;
  }
}
