import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../src/streams/webSocketEvents.js';

/** The text frames one client sent and received, in order, across all its sockets. */
export interface FrameLog {
  /** A `WebSocketCtor` for `PatchesSync({ websocket })` that records into this log. */
  WebSocketCtor: WebSocketConstructor;
  /** Every frame the client sent. */
  sent: string[];
  /** Every frame the client received. */
  received: string[];
  /** The JSON-RPC messages of the frames (a batch array gives several), parsed. */
  messages(frames: readonly string[]): Array<Record<string, unknown>>;
  /** Resolves once the client sends a frame that contains `text` (one sent already counts). */
  whenSent(text: string): Promise<void>;
}

/**
 * Wraps `ws`'s WebSocket so a spec can count the frames each way and read them: the socket is
 * real (a real server on loopback answers), only its `send` and `message` are observed.
 */
export function frameLog(): FrameLog {
  const sent: string[] = [];
  const received: string[] = [];
  const waiting = new Set<{ text: string; resolve: () => void }>();
  function RecordingWebSocket(url: string, protocols?: string | string[]): WebSocket {
    const socket = new WebSocket(url, protocols);
    const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
    (socket as { send: (data: unknown, ...rest: unknown[]) => void }).send = (data: unknown, ...rest: unknown[]) => {
      sent.push(String(data));
      for (const wait of waiting) {
        if (String(data).includes(wait.text)) {
          waiting.delete(wait);
          wait.resolve();
        }
      }
      send(data, ...rest);
    };
    socket.on('message', data => received.push(String(data)));
    return socket;
  }
  return {
    WebSocketCtor: RecordingWebSocket as unknown as WebSocketConstructor,
    sent,
    received,
    whenSent: text =>
      sent.some(frame => frame.includes(text)) ? Promise.resolve() : new Promise(resolve => waiting.add({ text, resolve })),
    messages: frames => frames.flatMap(frame => {
      const value: unknown = JSON.parse(frame);
      return (Array.isArray(value) ? value : [value]) as Array<Record<string, unknown>>;
    }),
  };
}
