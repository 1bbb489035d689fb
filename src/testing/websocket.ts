/**
 * A websocket connection to an event app (docs/spec.md §11), without a socket: the app's
 * `receive()`/`send()` on one side, a `TestWebSocket` for the test on the other.
 *
 * The app is checked as the server checks it (accept before send, an offered subprotocol, valid
 * close codes); closing before accepting refuses the handshake with 403, failing with 500 (or,
 * by default, the app's own error); returning while open closes with 1000, failing with 1011.
 */
import { ResponseHeadCache } from '../core/response-head.js';
import { callEventApp, DisconnectedError, messageType, ProtocolError, type AppCallOutcome } from '../event/runtime.js';
import { parseAccept, parseClose, parseSend } from '../event/websocket-messages.js';
import type { EventApp, ReceiveMessage, SendMessage, WebSocketScope } from '../spec/event-types.js';
import { checkedCall, type CheckedCall } from './contract.js';
import { describeFault, type ClientContext } from './context.js';
import { WebSocketClosed, WebSocketRefused, type WebSocketCloseInfo } from './errors.js';
import type { HeadersInit, PreparedRequest } from './request.js';
import { buildWebSocketScope } from './scope.js';

/** Validated accept heads, shared by every test websocket as a server shares its own. */
const acceptHeads = new ResponseHeadCache();

export interface WebSocketOptions {
  /** Subprotocols to offer (`Sec-WebSocket-Protocol`), in order of preference. */
  subprotocols?: readonly string[];
  /** More handshake headers. */
  headers?: HeadersInit;
}

/** The test's end of an accepted websocket. */
export interface TestWebSocket extends AsyncDisposable {
  /** The subprotocol the app chose in `websocket.accept`, or null. */
  readonly subprotocol: string | null;
  /** The headers the app added to the handshake answer. */
  readonly headers: Headers;
  /** Sends a text (string) or binary (bytes) message to the app. Throws once the websocket is closed. */
  send(data: string | Uint8Array): void;
  /** `send(JSON.stringify(value))`. */
  sendJson(value: unknown): void;
  /**
   * The app's next message: a string for text, a Uint8Array for binary. Messages sent before a
   * close are still delivered; after them it rejects with `WebSocketClosed` (code, reason), or with
   * the app's own error when it failed (and `raiseServerExceptions` is on).
   */
  receive(): Promise<string | Uint8Array>;
  /** The next message, which must be text. */
  receiveText(): Promise<string>;
  /** The next message, which must be binary. */
  receiveBytes(): Promise<Uint8Array>;
  /** The next text message, parsed as JSON. */
  receiveJson(): Promise<unknown>;
  /**
   * Closes the connection (default code 1000): the app receives `websocket.disconnect` with the
   * code and reason. Resolves when the app's call has returned; rejects with its error if it
   * failed (with `raiseServerExceptions`). After the app closed, it just waits for the app.
   */
  close(code?: number, reason?: string): Promise<void>;
  /** Settles once the connection is over, whichever side closed it. */
  readonly closed: Promise<WebSocketCloseInfo>;
}

const CONNECT: ReceiveMessage = Object.freeze({ type: 'websocket.connect' });
const ABNORMAL = 1006;

const enum Phase {
  Connecting,
  Open,
  /** Refused with 403 or 500. */
  Refused,
  /** The app or the test closed it. */
  Closed,
}

export function openWebSocket(context: ClientContext, app: EventApp, request: PreparedRequest): Promise<TestWebSocket> {
  return new WebSocketExchange(context, app, request).run();
}

class WebSocketExchange implements AppCallOutcome {
  private readonly call: CheckedCall<EventApp>;
  private readonly scope: WebSocketScope;
  private readonly label: string;
  private phase = Phase.Connecting;
  private connectDelivered = false;
  /** The app sent websocket.close (or returned or failed): it may send nothing more. */
  private appFinishedSending = false;
  private closeInfo: WebSocketCloseInfo | null = null;
  /** The app's failure, when it should reach the test (raiseServerExceptions). */
  private appError: unknown = undefined;

  // The app's side of the connection.
  private appInbox: ReceiveMessage[] = [];
  private appWaiters: Array<(message: ReceiveMessage) => void> = [];
  private disconnect: ReceiveMessage | null = null;

  // The test's side.
  private testInbox: Array<string | Uint8Array> = [];
  private testWaiters: Array<{ resolve: (message: string | Uint8Array) => void; reject: (error: unknown) => void }> = [];

  private settleHandshake!: { resolve: (socket: TestWebSocket) => void; reject: (error: unknown) => void };
  private readonly handshake: Promise<TestWebSocket>;
  private resolveClosed!: (info: WebSocketCloseInfo) => void;
  private readonly closed: Promise<WebSocketCloseInfo>;
  private resolveAppDone!: () => void;
  private readonly appDone: Promise<void>;
  private untrack: () => void = () => {};

  constructor(
    private readonly context: ClientContext,
    app: EventApp,
    request: PreparedRequest,
  ) {
    this.call = checkedCall(app, context.options.validate, (violation) => context.recordViolation(violation));
    this.scope = buildWebSocketScope(request, context.options.client, context.scopeState());
    this.label = `websocket ${request.rawPath}${request.query === '' ? '' : '?' + request.query}`;
    this.handshake = new Promise((resolve, reject) => {
      this.settleHandshake = { resolve, reject };
    });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.appDone = new Promise((resolve) => {
      this.resolveAppDone = resolve;
    });
  }

  run(): Promise<TestWebSocket> {
    // Closing the client closes the connection ("going away") and waits for the app to return.
    this.untrack = this.context.track(() => this.closeFromClient(1001, 'the TestClient was closed').catch(() => undefined));
    callEventApp(this.call.app, this.scope, this.appReceive, this.appSend, this);
    return this.handshake;
  }

  // --- the app's receive() and send() --------------------------------------------------------------

  private readonly appReceive = (): Promise<ReceiveMessage> => {
    if (!this.connectDelivered) {
      this.connectDelivered = true;
      return Promise.resolve(CONNECT);
    }
    const next = this.appInbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.disconnect !== null) return Promise.resolve(this.disconnect);
    return new Promise((resolve) => this.appWaiters.push(resolve));
  };

  private deliverToApp(message: ReceiveMessage): void {
    const waiter = this.appWaiters.shift();
    if (waiter !== undefined) waiter(message);
    else this.appInbox.push(message);
  }

  /** The connection is over for the app: every receive() from now on yields `message`. */
  private endForApp(code: number, reason: string): void {
    if (this.disconnect !== null) return;
    this.disconnect = { type: 'websocket.disconnect', code, reason };
    const waiters = this.appWaiters;
    this.appWaiters = [];
    for (const resolve of waiters) resolve(this.disconnect);
  }

  private readonly appSend = (message: SendMessage): Promise<void> => {
    try {
      const type = messageType(message, 'send');
      if (type === 'websocket.send') {
        this.checkCanSend('websocket.send');
        this.deliverToTest(parseSend(message));
        return Promise.resolve();
      }
      if (type === 'websocket.accept') {
        this.accept(message);
        return Promise.resolve();
      }
      if (type === 'websocket.close') {
        this.closeFromApp(message);
        return Promise.resolve();
      }
      throw new ProtocolError(
        `send() got a message of type ${JSON.stringify(type)} on a websocket connection; expected ` +
          `websocket.accept, websocket.send or websocket.close`,
      );
    } catch (error) {
      if (error instanceof ProtocolError) this.context.log(`${this.label}: ${error.message}`);
      return Promise.reject(error);
    }
  };

  private checkCanSend(what: string): void {
    if (this.phase === Phase.Connecting) {
      throw new ProtocolError(`${what} was sent before websocket.accept; accept the connection first (or send websocket.close to refuse it)`);
    }
    if (this.phase === Phase.Refused) {
      throw new ProtocolError(`${what} was sent after websocket.close refused the connection (the client got an HTTP 403)`);
    }
    if (this.appFinishedSending) {
      throw new ProtocolError(`${what} was sent after websocket.close; the connection is closing and takes no more messages`);
    }
    if (this.phase === Phase.Closed) throw this.disconnected(what);
  }

  private accept(message: SendMessage): void {
    if (this.phase !== Phase.Connecting) {
      if (this.phase === Phase.Closed && !this.appFinishedSending) throw this.disconnected('websocket.accept');
      throw new ProtocolError(
        this.phase === Phase.Refused
          ? 'websocket.accept was sent after websocket.close refused the connection'
          : 'websocket.accept was sent twice; the connection is already accepted',
      );
    }
    // The server's own checks: an offered subprotocol, valid headers, none of the handshake's.
    const { subprotocol: chosen, headers: pairs } = parseAccept(message, this.scope.subprotocols, acceptHeads);
    this.phase = Phase.Open;
    const violation = this.call.violations[0];
    if (violation !== undefined) {
      // The test fails with the violation; for the app the client went away.
      this.endConnection({ code: ABNORMAL, reason: '', by: 'client' });
      this.settleHandshake.reject(violation);
      return;
    }
    this.settleHandshake.resolve(this.socket(chosen, new Headers(pairs.map(([name, value]): [string, string] => [name, value]))));
  }

  private closeFromApp(message: SendMessage): void {
    const decision = parseClose(message);
    if (this.appFinishedSending) throw new ProtocolError('websocket.close was sent twice (or after the app returned); send it once');
    if (this.phase === Phase.Connecting) {
      // ASGI: closing before accepting refuses the handshake with 403.
      this.appFinishedSending = true;
      this.refuse(
        new WebSocketRefused(403, decision.code, decision.reason, `it sent websocket.close with code ${decision.code} before accepting` +
          (decision.reason === '' ? '' : ` (${JSON.stringify(decision.reason)})`)),
      );
      return;
    }
    if (this.phase === Phase.Closed) throw this.disconnected('websocket.close');
    this.appFinishedSending = true;
    // The test's side answers the close frame at once: the app hears its own code back.
    this.endConnection({ code: decision.code, reason: decision.reason, by: 'app' });
  }

  private deliverToTest(payload: string | Uint8Array): void {
    const waiter = this.testWaiters.shift();
    if (waiter !== undefined) waiter.resolve(payload);
    else this.testInbox.push(payload);
  }

  // --- how the connection ends -----------------------------------------------------------------------

  private refuse(refusal: WebSocketRefused | unknown): void {
    this.phase = Phase.Refused;
    this.endForApp(ABNORMAL, '');
    this.untrack();
    const violation = this.call.violations[0];
    this.settleHandshake.reject(violation ?? refusal);
    this.resolveClosed({ code: ABNORMAL, reason: '', by: 'app' });
  }

  /** The connection closed with `info`: the app hears it, the test's reads end after what is queued. */
  private endConnection(info: WebSocketCloseInfo): void {
    if (this.phase === Phase.Closed || this.phase === Phase.Refused) return;
    this.phase = Phase.Closed;
    this.closeInfo = info;
    this.endForApp(info.code, info.reason);
    this.untrack();
    const waiters = this.testWaiters;
    this.testWaiters = [];
    for (const waiter of waiters) waiter.reject(this.endOfMessages());
    this.resolveClosed(info);
  }

  /** What a read after the last message gets. */
  private endOfMessages(): unknown {
    const violation = this.call.violations[0];
    if (violation !== undefined) return violation;
    if (this.appError !== undefined) return this.appError;
    return new WebSocketClosed(this.closeInfo!, 'receive()');
  }

  private async closeFromClient(code: number, reason: string): Promise<void> {
    if (this.phase === Phase.Open) this.endConnection({ code, reason, by: 'client' });
    else if (this.phase === Phase.Connecting) {
      this.phase = Phase.Closed;
      this.endForApp(ABNORMAL, '');
      this.untrack();
      this.settleHandshake.reject(new Error(`${this.label}: the TestClient was closed before the app accepted the websocket`));
      this.resolveClosed({ code: ABNORMAL, reason: '', by: 'client' });
    }
    await this.appDone;
    const violation = this.call.violations[0];
    if (violation !== undefined) throw violation;
    if (this.appError !== undefined) throw this.appError;
  }

  // --- the app's outcome ------------------------------------------------------------------------------

  appReturned(): void {
    if (this.phase === Phase.Connecting) {
      const problem = 'the app returned without accepting or refusing the websocket (send websocket.accept, or websocket.close to refuse it)';
      this.failHandshake(new Error(`${this.label}: ${problem}`), problem);
    } else if (!this.appFinishedSending) {
      // As uvicorn: an app that returns with the connection open closes it normally.
      this.appFinishedSending = true;
      this.endConnection({ code: 1000, reason: '', by: 'app' });
    }
    this.resolveAppDone();
  }

  appFailed(error: unknown): void {
    const over = this.phase === Phase.Closed || this.phase === Phase.Refused;
    if (over && error instanceof DisconnectedError) {
      this.resolveAppDone();
      return; // the app noticed the client left: not a fault
    }
    if (this.phase === Phase.Connecting) {
      this.failHandshake(error, `it raised ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    } else {
      this.context.log(describeFault(this.label, 'the app raised', error));
      if (this.context.options.raiseServerExceptions) this.appError = error;
      if (!this.appFinishedSending) {
        this.appFinishedSending = true;
        this.endConnection({ code: 1011, reason: '', by: 'app' });
      }
    }
    this.resolveAppDone();
  }

  private failHandshake(error: unknown, detail: string): void {
    if (this.context.options.raiseServerExceptions) {
      this.refuse(error);
      return;
    }
    this.context.log(describeFault(this.label, 'the websocket failed before accepting; answered 500', error));
    this.refuse(new WebSocketRefused(500, null, '', detail));
  }

  private disconnected(what: string): DisconnectedError {
    return new DisconnectedError(`${what} cannot be sent: the websocket is closed (receive() returns websocket.disconnect); stop sending on it`);
  }

  // --- the test's end -----------------------------------------------------------------------------------

  private socket(subprotocol: string | null, headers: Headers): TestWebSocket {
    const exchange = this;
    const receive = (): Promise<string | Uint8Array> => {
      const violation = exchange.call.violations[0];
      if (violation !== undefined) return Promise.reject(violation);
      const next = exchange.testInbox.shift();
      if (next !== undefined) return Promise.resolve(next);
      if (exchange.closeInfo !== null) return Promise.reject(exchange.endOfMessages());
      return new Promise((resolve, reject) => exchange.testWaiters.push({ resolve, reject }));
    };
    const send = (data: string | Uint8Array): void => {
      if (exchange.closeInfo !== null) throw new WebSocketClosed(exchange.closeInfo, 'send()');
      if (typeof data === 'string') exchange.deliverToApp({ type: 'websocket.receive', text: data });
      else if (data instanceof Uint8Array) exchange.deliverToApp({ type: 'websocket.receive', bytes: Buffer.from(data) });
      else throw new TypeError(`send() takes a string (a text message) or a Uint8Array (a binary one); got ${typeof data}`);
    };
    const close = (code = 1000, reason = ''): Promise<void> => {
      if (!isSendableCode(code)) {
        return Promise.reject(new RangeError(`close() code must be 1000-1003, 1007-1014 or 3000-4999; got ${code}`));
      }
      return exchange.closeFromClient(code, reason);
    };
    return {
      subprotocol,
      headers,
      send,
      sendJson: (value) => send(JSON.stringify(value)),
      receive,
      receiveText: async () => {
        const message = await receive();
        if (typeof message !== 'string') throw new TypeError(`receiveText() got a binary message of ${message.byteLength} bytes`);
        return message;
      },
      receiveBytes: async () => {
        const message = await receive();
        if (typeof message === 'string') throw new TypeError(`receiveBytes() got a text message: ${JSON.stringify(message.slice(0, 60))}`);
        return message;
      },
      receiveJson: async () => {
        const message = await receive();
        if (typeof message !== 'string') throw new TypeError(`receiveJson() got a binary message of ${message.byteLength} bytes`);
        return JSON.parse(message) as unknown;
      },
      close,
      closed: this.closed,
      [Symbol.asyncDispose]: () => close(),
    };
  }
}

function isSendableCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}
