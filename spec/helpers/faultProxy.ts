import { startChaosProxy } from './chaosProxy.js';

/** A loopback TCP proxy in front of a server, able to cut every connection (mid-frame too). */
export interface FaultProxy {
  /** The port clients connect to. */
  port: number;
  /** `ws://127.0.0.1:<port>` */
  url: string;
  /** Connections open right now. */
  readonly connections: number;
  /** Destroys every open connection at once, both sides, without a closing handshake. */
  dropAll(): void;
  /** While true, new connections are refused (accepted and destroyed at once). */
  refuse: boolean;
  /** Bytes forwarded so far, in both directions. */
  readonly bytes: { toServer: number; toClient: number };
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 (a free port) forwarding to `127.0.0.1:targetPort`. WebSocket
 * frames pass through byte for byte, so dropping a connection is a real mid-stream failure. It is
 * the chaos proxy of the fuzz with no chaos asked of it (delays and kills only happen on request).
 */
export function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  return startChaosProxy(targetPort, { random: Math.random });
}
