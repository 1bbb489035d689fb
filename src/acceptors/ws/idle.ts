/**
 * The websocket idle timeout on the ws-based backends (llhttp, node), with uWebSockets.js's semantics so all
 * backends behave alike (uWS WebSocketContextData::calculateIdleTimeoutCompnents):
 * - only frames from the client (messages, pings, pongs) and drained sends count as activity;
 * - with pings, a connection silent for `idleTimeout - margin` seconds gets a ping, and is
 *   dropped if nothing arrives by `idleTimeout`; margin is 4, 8 or 16 s, growing with the timeout;
 * - without pings, it is dropped after `idleTimeout` seconds of silence.
 * A dropped connection is cut without a close frame, as uWS does (the client sees 1006).
 *
 * One sweep timer serves every connection: cheaper than a timer per socket, and the timeout
 * is coarse anyway (uWS rounds to 4 s).
 */
import type { WebSocketLimits } from '../../core/websocket-transport.js';

const SWEEP_MS = 1000;

export interface IdleTracked {
  /** `Date.now()` of the last activity. */
  lastActive: number;
  /** A keep-alive ping is out since the last activity. */
  pinged: boolean;
  ping(): void;
  /** Silent for the whole timeout: cut the connection. */
  expire(): void;
}

/** uWS's ping margin for a timeout: 4 s, doubled while it fits twice into the rest, at most 16. */
function pingMargin(idleTimeout: number): number {
  let margin = 4;
  while (idleTimeout - margin * 2 >= margin * 2 && margin < 16) margin *= 2;
  return margin;
}

export class IdleSweeper {
  private readonly members = new Set<IdleTracked>();
  private timer: NodeJS.Timeout | null = null;
  private readonly expireAfterMs: number;
  /** -1 without pings. */
  private readonly pingAfterMs: number;

  constructor(limits: WebSocketLimits) {
    this.expireAfterMs = limits.idleTimeout * 1000;
    this.pingAfterMs = limits.ping ? (limits.idleTimeout - pingMargin(limits.idleTimeout)) * 1000 : -1;
  }

  /** False when the timeout is off (0): nothing to track. */
  get enabled(): boolean {
    return this.expireAfterMs > 0;
  }

  add(member: IdleTracked): void {
    if (!this.enabled) return;
    this.members.add(member);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      // Open websockets alone must not keep the process alive past the server's close().
      this.timer.unref();
    }
  }

  delete(member: IdleTracked): void {
    if (!this.members.delete(member) || this.members.size > 0 || this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private sweep(): void {
    const now = Date.now();
    for (const member of this.members) {
      const silent = now - member.lastActive;
      if (silent >= this.expireAfterMs) {
        this.delete(member);
        member.expire();
      } else if (this.pingAfterMs >= 0 && !member.pinged && silent >= this.pingAfterMs) {
        member.pinged = true;
        member.ping();
      }
    }
  }
}
