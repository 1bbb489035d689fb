/**
 * The tsgi event contract (ASGI 3.0 with the HTTP/WebSocket spec 2.5 semantics, adapted to JS),
 * as types. docs/spec.md §9–§12 is the prose version of this file.
 *
 * JS adaptations: byte strings that carry text (paths, query strings, header names and values)
 * are JS strings holding the bytes as received (latin1); bodies and binary messages are
 * `Uint8Array`; `client`/`server` are `[host, port]` tuples.
 */

/** `scope.asgi`. */
export interface AsgiInfo {
  readonly version: '3.0';
  readonly spec_version: string;
}

/** A header as `[name, value]`: names lower-case in scopes, values exactly as received. */
export type EventHeader = [name: string, value: string];

/**
 * A header as an app sends it: names and values as strings, or as bytes (ASGI's byte strings,
 * read as latin1), docs/spec.md §9.
 */
export type SentHeader = readonly [name: string | Uint8Array, value: string | Uint8Array];

/** What every connection scope (http, websocket) carries. */
interface ConnectionScope {
  readonly asgi: AsgiInfo;
  readonly http_version: '1.0' | '1.1';
  readonly scheme: string;
  /** The path, percent-decoded as UTF-8. */
  readonly path: string;
  /** The path exactly as sent (percent-encoding intact), without the query. */
  readonly raw_path: string;
  /** The query string exactly as sent, without `?`; `''` when absent. */
  readonly query_string: string;
  readonly root_path: string;
  /** Every request header in arrival order, duplicates kept, names lower-case. */
  readonly headers: EventHeader[];
  /** The peer as `[host, port]`; port 0 where the backend cannot know it (uws). */
  readonly client: [host: string, port: number] | null;
  readonly server: [host: string, port: number | null] | null;
  /** A shallow copy of the state the app filled during lifespan startup. */
  readonly state: Record<string, unknown>;
  /** Protocol extensions this server supports for this connection (`http.response.trailers`, …). */
  readonly extensions: Record<string, Record<string, unknown>>;
}

export interface HttpScope extends ConnectionScope {
  readonly type: 'http';
  readonly method: string;
}

export interface WebSocketScope extends ConnectionScope {
  readonly type: 'websocket';
  /** The subprotocols the client offered, in its order. */
  readonly subprotocols: string[];
}

export interface LifespanScope {
  readonly type: 'lifespan';
  readonly asgi: AsgiInfo;
  /** Fill this during startup; every connection scope gets a shallow copy. */
  readonly state: Record<string, unknown>;
}

export type Scope = HttpScope | WebSocketScope | LifespanScope;

// --- HTTP messages -----------------------------------------------------------------------------

export interface HttpRequestMessage {
  type: 'http.request';
  body: Uint8Array;
  more_body: boolean;
}
export interface HttpDisconnectMessage {
  type: 'http.disconnect';
}
export interface HttpResponseStartMessage {
  type: 'http.response.start';
  status: number;
  headers?: Iterable<SentHeader>;
  /** The app will send `http.response.trailers` after the last body message. */
  trailers?: boolean;
}
export interface HttpResponseBodyMessage {
  type: 'http.response.body';
  body?: Uint8Array | string;
  more_body?: boolean;
}
export interface HttpResponseTrailersMessage {
  type: 'http.response.trailers';
  headers?: Iterable<SentHeader>;
  more_trailers?: boolean;
}

// --- WebSocket messages ------------------------------------------------------------------------

export interface WebSocketConnectMessage {
  type: 'websocket.connect';
}
export interface WebSocketReceiveMessage {
  type: 'websocket.receive';
  /** Exactly one of `bytes` and `text` is set. */
  bytes?: Uint8Array;
  text?: string;
}
export interface WebSocketDisconnectMessage {
  type: 'websocket.disconnect';
  code: number;
  reason: string;
}
export interface WebSocketAcceptMessage {
  type: 'websocket.accept';
  subprotocol?: string | null;
  headers?: Iterable<SentHeader>;
}
export interface WebSocketSendMessage {
  type: 'websocket.send';
  bytes?: Uint8Array | null;
  text?: string | null;
}
export interface WebSocketCloseMessage {
  type: 'websocket.close';
  code?: number;
  reason?: string;
}

// --- Lifespan messages -------------------------------------------------------------------------

export interface LifespanStartupMessage {
  type: 'lifespan.startup';
}
export interface LifespanShutdownMessage {
  type: 'lifespan.shutdown';
}
export interface LifespanOutcomeMessage {
  type: 'lifespan.startup.complete' | 'lifespan.shutdown.complete' | 'lifespan.startup.failed' | 'lifespan.shutdown.failed';
  /** For `.failed`: what went wrong, shown to the operator. */
  message?: string;
}

export type ReceiveMessage =
  | HttpRequestMessage
  | HttpDisconnectMessage
  | WebSocketConnectMessage
  | WebSocketReceiveMessage
  | WebSocketDisconnectMessage
  | LifespanStartupMessage
  | LifespanShutdownMessage;

export type SendMessage =
  | HttpResponseStartMessage
  | HttpResponseBodyMessage
  | HttpResponseTrailersMessage
  | WebSocketAcceptMessage
  | WebSocketSendMessage
  | WebSocketCloseMessage
  | LifespanOutcomeMessage;

export type Receive = () => Promise<ReceiveMessage>;
export type Send = (message: SendMessage) => Promise<void>;

/** An event app: called once per connection (http, websocket) and once for the lifespan. */
export type EventApp = (scope: Scope, receive: Receive, send: Send) => Promise<void>;
