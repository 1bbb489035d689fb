/**
 * The seam between an acceptor and the core for websocket upgrades, alongside `Transport` for
 * plain requests. An acceptor that serves websockets hands every upgrade request (a GET with
 * `Upgrade: websocket`) to an `UpgradeHandler` with a `WebSocketUpgrade`; the core decides,
 * through the app, whether to accept it (101 and a `WebSocketLink`) or refuse it (an HTTP answer).
 *
 * The core never imports uWebSockets.js or `ws`; acceptors never see a scope.
 *
 * Event order for one upgrade, after `watch`:
 * - the client vanishes before the decision: `onClose(1006, …)`; a later accept/reject is ignored;
 * - `reject`: the HTTP answer is the end, no event follows;
 * - `accept`: `onOpen`, then `onMessage`/`onDrain`, then `onClose` exactly once. A handshake that
 *   fails after `accept` (the socket died meanwhile) gives `onClose(1006, …)` without `onOpen`.
 * Events may arrive synchronously inside `accept`, `send` and `close` (uWS calls them at once).
 */
import type { HeaderPair } from '../spec/types.js';
import type { RequestHead } from './transport.js';

/** Limits every websocket of a server shares; acceptors map them onto their library. */
export interface WebSocketLimits {
  /** Largest message accepted from a client, in bytes; larger ones end the connection. */
  maxMessageSize: number;
  /** Seconds without any frame from the client after which the connection is closed; 0 disables. */
  idleTimeout: number;
  /**
   * Ping idle clients before `idleTimeout` runs out, so a live peer's pong keeps the
   * connection open and a dead one is found.
   */
  ping: boolean;
  /** Bytes a connection may have queued for sending before `send()` waits for drain. */
  maxBackpressure: number;
}

/** What the core gives an acceptor that serves websockets: one call per upgrade request. */
export interface UpgradeHandler {
  /** `head` is valid only during the call, as for `RequestHandler.dispatch`. */
  upgrade(head: RequestHead, upgrade: WebSocketUpgrade): void;
}

/** Events of one upgrade request, from before the decision until the connection closes. */
export interface WebSocketEvents {
  /** The handshake completed; messages may be sent on `link`. */
  onOpen(link: WebSocketLink): void;
  /** One whole message: a text message as a string, a binary one as bytes the receiver owns. */
  onMessage(message: string | Uint8Array): void;
  /** The send queue is back under `maxBackpressure` after a `send` returned false. */
  onDrain(): void;
  /** The connection is over; nothing may be sent afterwards (see the event order above). */
  onClose(code: number, reason: string): void;
}

/** An upgrade request waiting for the app's decision. At most one of accept/reject is called. */
export interface WebSocketUpgrade {
  /** Starts delivering events; called once, before accept/reject. */
  watch(events: WebSocketEvents): void;
  /**
   * Completes the handshake with the chosen subprotocol (null for none) and extra response
   * headers (validated, without Upgrade/Connection/Sec-WebSocket-*). `onOpen` follows.
   */
  accept(subprotocol: string | null, headers: readonly HeaderPair[]): void;
  /**
   * Answers the upgrade request with an HTTP response instead and closes the connection.
   * `headers` are validated and carry no framing headers; the acceptor adds Content-Length.
   */
  reject(status: string, headers: readonly HeaderPair[], body: Uint8Array): void;
}

/** An open websocket. No method may be called after `onClose`. */
export interface WebSocketLink {
  /**
   * Queues one message: a string goes as a text message, bytes as a binary one. Returns false
   * when the queue is now over `maxBackpressure`: send nothing more until `onDrain`.
   */
  send(message: string | Uint8Array): boolean;
  /** Starts the closing handshake; `onClose` follows (possibly before this returns). */
  close(code: number, reason: string): void;
  /**
   * Stops reading messages (backpressure on a slow app); `resume` undoes it. Optional: a link
   * without it cannot slow the client down, so the core bounds its queue another way.
   */
  pause?(): void;
  resume?(): void;
}
