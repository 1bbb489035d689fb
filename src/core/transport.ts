/**
 * The seam between an acceptor (sockets and bytes) and the core (environ, app, contract).
 *
 * An acceptor parses a request, describes it with a `RequestHead` that is valid only for the
 * duration of `RequestHandler.dispatch`, and hands the core a `Transport` for that one exchange.
 * The core never imports uWebSockets.js or node:http; acceptors never see an environ.
 */
import type { BodyChunk, HeaderPair } from '../spec/types.js';
import type { ResponseHead } from './response-head.js';

/** Called once per request header; names are lower-case, values as received. */
export type HeaderVisitor = (lowerName: string, value: string) => void;

/**
 * One parsed request head. Acceptors may reuse one object for every request, so the core copies
 * what it needs during `dispatch` and keeps no reference to it.
 */
export interface RequestHead {
  /** The method exactly as sent (`GET`, `PATCH`, …). */
  method: string;
  /** The target's path, percent-encoding intact, without the query. */
  rawPath: string;
  /** The raw query string, without `?`; `''` when absent. */
  query: string;
  /** `'HTTP/1.1'` or `'HTTP/1.0'`. */
  protocol: string;
  /** The peer's address; ignored when `peer` is set. */
  remoteAddress: string;
  /**
   * A source that fetches the peer's address on first use, for acceptors where fetching it costs
   * more than the rest of a small request (uWS allocates an ArrayBuffer per call: ~1.6 µs).
   */
  peer: PeerAddressSource | null;
  /** The peer's port as a string; `''` where the acceptor cannot know it. */
  remotePort: string;
  /** Visits every header in arrival order, repeated ones included. */
  forEachHeader(visit: HeaderVisitor): void;
}

export interface PeerAddressSource {
  /** The peer's address; valid while the response is in progress, cached after the first call. */
  peerAddress(): string;
}

/** Receives the request body from the acceptor. Chunks are owned by the receiver (copied). */
export interface BodyReceiver {
  onBodyChunk(chunk: Uint8Array, isLast: boolean): void;
}

/** Receives connection events for an exchange that did not finish during `dispatch`. */
export interface ExchangeEvents {
  /** The client went away (or the acceptor gave up on the connection). */
  onAbort(): void;
  /** The socket can take more after a `write` returned false. */
  onDrain(): void;
}

/**
 * How the core writes one response. Every method is called at most in this order:
 * `sendWhole` alone, or `startStream`, `writeStream`*, then `endStream`; `abort` may come
 * at any time and ends the exchange. Headers arrive validated and without framing headers
 * (`Content-Length`, `Transfer-Encoding`), which the transport derives from the arguments.
 */
export interface Transport {
  /**
   * Start delivering the request body to `receiver`. Called at most once, during dispatch or
   * later; the transport applies backpressure when `pauseBody` is called.
   */
  readBody(receiver: BodyReceiver): void;
  pauseBody(): void;
  resumeBody(): void;

  /** Called when the response will not complete during dispatch: events start flowing. */
  watch(events: ExchangeEvents): void;

  /**
   * The complete response in one burst. `body` is null when none is sent. `contentLength` is
   * the length to announce: `-1` announces none (204/304, or HEAD of unknown length); with a body
   * it equals the body's byte length; for HEAD it is the would-be length and no body is sent.
   * `close` asks the transport to close the connection after the response.
   */
  sendWhole(head: ResponseHead, body: BodyChunk | null, contentLength: number, close: boolean): void;

  /** Sends status and headers; `contentLength` -1 means unknown (chunked or close-delimited). */
  startStream(head: ResponseHead, contentLength: number): void;
  /** Writes one non-empty body chunk; false means "wait for onDrain before writing more". */
  writeStream(chunk: BodyChunk): boolean;
  /**
   * Finishes a streamed response. `trailers` (validated) are only given on connections whose
   * acceptor can send them (its `trailers` trait: llhttp and node; chunked HTTP/1.1 responses).
   */
  endStream(trailers?: readonly HeaderPair[] | null): void;

  /**
   * Ends the exchange by closing the connection: bytes already written are flushed, nothing more
   * is sent, so a partial response can never look complete.
   */
  abort(): void;

  /**
   * Answers a request whose framing cannot be trusted and guarantees that nothing the client sent
   * after it is read as another request. A transport that cannot both answer and stop reading at
   * once (uWS parses the rest of its read buffer before a close takes effect) closes without
   * answering.
   */
  refuse(head: ResponseHead, body: Uint8Array): void;
}

/** What the core gives an acceptor: one call per request. */
export interface RequestHandler {
  dispatch(head: RequestHead, transport: Transport): void;
}
