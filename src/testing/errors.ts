/** Errors a test sees from the TestClient's websockets. */

/** How a websocket ended. */
export interface WebSocketCloseInfo {
  readonly code: number;
  readonly reason: string;
  /** Who closed it: the app (websocket.close, returning, failing) or the test (`close()`). */
  readonly by: 'app' | 'client';
}

/** `receive()` (or `send()`) on a websocket that is closed: the close code and reason say how. */
export class WebSocketClosed extends Error {
  override name = 'WebSocketClosed';
  readonly code: number;
  readonly reason: string;

  constructor(info: WebSocketCloseInfo, what: string) {
    super(
      `${what}: the websocket was closed by the ${info.by === 'app' ? 'app' : 'test'} with code ${info.code}` +
        (info.reason === '' ? '' : ` (${JSON.stringify(info.reason)})`),
    );
    this.code = info.code;
    this.reason = info.reason;
  }
}

/**
 * `websocket()` was answered with an HTTP status instead of the handshake: 403 when the app sent
 * `websocket.close` before accepting (`code` and `reason` are the ones it gave), 500 when it failed
 * or returned without deciding (with `raiseServerExceptions: false`).
 */
export class WebSocketRefused extends Error {
  override name = 'WebSocketRefused';
  readonly status: number;
  readonly code: number | null;
  readonly reason: string;

  constructor(status: number, code: number | null, reason: string, detail: string) {
    super(`the app refused the websocket: the client gets ${status === 403 ? '403 Forbidden' : `${status} Internal Server Error`}; ${detail}`);
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}
