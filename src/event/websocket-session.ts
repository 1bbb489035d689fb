/**
 * One websocket connection of an event app: the `receive`/`send` pair the app gets, and the
 * acceptor's events that feed them (docs/spec.md, websocket section; ASGI websocket spec 2.5).
 *
 * Order on the way out is the app's order: a message sent while the link is over its
 * backpressure limit waits in `outbox` (its `send()` promise pending) behind the earlier ones,
 * and `websocket.close` takes its place behind them too. At most one handed message waits for
 * drain at a time, so the link never holds much more than `maxBackpressure` plus one message.
 */
import type { ReportedExchange } from '../core/exchange-report.js';
import { headerOf } from './headers.js';
import { clientAddressOf, clientPortOf } from './scope.js';
import { ResponseHeadError, stackOf } from '../core/response-head.js';
import { serverResponse } from '../core/server-responses.js';
import type { WebSocketEvents, WebSocketLink, WebSocketUpgrade } from '../core/websocket-transport.js';
import type { ReceiveMessage, SendMessage, WebSocketScope } from '../spec/event-types.js';
import type { HeaderPair } from '../spec/types.js';
import { SERVER_SOFTWARE } from '../spec/constants.js';
import { DisconnectedError, messageType, ProtocolError, type EventRuntime } from './runtime.js';
import { Inbox, type InboxFlow } from './websocket-inbox.js';
import { parseAccept, parseClose, parseSend, type CloseDecision } from './websocket-messages.js';

const enum Phase {
  /** No decision yet. */
  Connecting,
  /** `accept` was handed to the acceptor; waiting for `onOpen`. */
  Accepting,
  Open,
  /** A close frame is on its way (the app's or the server's); waiting for `onClose`. */
  Closing,
  /** Refused with an HTTP answer (403 or 500). */
  Rejected,
  /** The connection is over. */
  Closed,
}

const CONNECT: ReceiveMessage = Object.freeze({ type: 'websocket.connect' });
/** ASGI's code for "closed without a websocket closing handshake" (refused, or the client vanished). */
const ABNORMAL = 1006;
const RESOLVED = Promise.resolve();

const FORBIDDEN_HEADERS: readonly HeaderPair[] = Object.freeze([
  Object.freeze(['Content-Type', 'text/plain; charset=utf-8']) as HeaderPair,
  Object.freeze(['Server', SERVER_SOFTWARE]) as HeaderPair,
]);
const FORBIDDEN_BODY = Buffer.from('Forbidden\n', 'utf8');

interface Pending {
  resolve(): void;
  reject(error: Error): void;
}

interface Outgoing extends Pending {
  /** A message, or the close frame that ends the queue. */
  payload: string | Uint8Array | CloseDecision;
}

function isClose(payload: Outgoing['payload']): payload is CloseDecision {
  return typeof payload === 'object' && !(payload instanceof Uint8Array);
}

export class WebSocketSession implements WebSocketEvents, InboxFlow, ReportedExchange {
  private phase = Phase.Connecting;
  private link: WebSocketLink | null = null;
  private connectDelivered = false;
  /** accept or reject was handed to the acceptor. */
  private decided = false;
  /** The app sent websocket.close, returned or failed: it may send nothing more. */
  private appFinishedSending = false;
  private readonly inbox = new Inbox(this);
  private openWaiter: Pending | null = null;
  private outbox: Outgoing[] = [];
  /** The last send went over the backpressure limit; its sender waits in `drainWaiter`. */
  private blocked = false;
  private drainWaiter: Pending | null = null;
  private readonly loggedErrors = new WeakSet<object>();

  readonly receive = (): Promise<ReceiveMessage> => this.onReceive();
  readonly send = (message: SendMessage): Promise<void> => this.onSend(message);

  /** When the handshake began (performance.now()), for the access log and metrics. */
  readonly startedAt: number;
  readonly requestMethod = 'GET';
  readonly requestProtocol = 'HTTP/1.1';
  readonly bytesReceived = 0;
  /** The handshake was accepted: the open-sessions gauge counts this session until it closes. */
  private counted = false;
  /** The handshake's outcome was reported (access log, metrics). */
  private reported = false;

  constructor(
    private readonly runtime: EventRuntime,
    private readonly scope: WebSocketScope,
    private readonly upgrade: WebSocketUpgrade,
  ) {
    this.startedAt = runtime.report === null ? 0 : performance.now();
    runtime.report?.started();
  }

  // --- what the access log and metrics read (ReportedExchange) ---------------------------------

  clientAddress(): string {
    return clientAddressOf(this.scope);
  }

  clientPort(): string {
    return clientPortOf(this.scope);
  }

  get requestRawPath(): string {
    return this.scope.raw_path;
  }

  get requestQuery(): string {
    return this.scope.query_string;
  }

  requestHeader(lowerName: string): string | undefined {
    return headerOf(this.scope.headers, lowerName);
  }

  // --- receive() ------------------------------------------------------------------------------

  private onReceive(): Promise<ReceiveMessage> {
    if (!this.connectDelivered) {
      this.connectDelivered = true;
      return Promise.resolve(CONNECT);
    }
    return this.inbox.take();
  }

  // --- send() ---------------------------------------------------------------------------------

  private onSend(message: SendMessage): Promise<void> {
    try {
      const type = messageType(message, 'send');
      if (type === 'websocket.send') {
        this.checkCanSend('websocket.send');
        return this.enqueue(parseSend(message));
      }
      if (type === 'websocket.accept') return this.accept(message);
      if (type === 'websocket.close') return this.close(message);
      throw new ProtocolError(
        `send() got a message of type ${JSON.stringify(type)} on a websocket connection; expected ` +
          `websocket.accept, websocket.send or websocket.close`,
      );
    } catch (error) {
      return Promise.reject(this.misuse(error));
    }
  }

  private checkCanSend(what: string): void {
    const phase = this.phase;
    if (phase === Phase.Connecting) {
      throw new ProtocolError(`${what} was sent before websocket.accept; accept the connection first (or send websocket.close to refuse it)`);
    }
    if (phase === Phase.Rejected) {
      throw new ProtocolError(`${what} was sent after websocket.close refused the connection (the client got an HTTP 403)`);
    }
    if (this.appFinishedSending) {
      throw new ProtocolError(`${what} was sent after websocket.close; the connection is closing and takes no more messages`);
    }
    if (phase === Phase.Closing || phase === Phase.Closed) throw this.disconnected(what);
  }

  private accept(message: SendMessage): Promise<void> {
    const phase = this.phase;
    if (phase !== Phase.Connecting) {
      if (phase === Phase.Closed && !this.decided) throw this.disconnected('websocket.accept');
      throw new ProtocolError(
        phase === Phase.Rejected
          ? 'websocket.accept was sent after websocket.close refused the connection'
          : 'websocket.accept was sent twice; the connection is already accepted',
      );
    }
    const decision = parseAccept(message, this.scope.subprotocols, this.runtime.heads);
    this.phase = Phase.Accepting;
    this.decided = true;
    const opened = new Promise<void>((resolve, reject) => {
      this.openWaiter = { resolve, reject };
    });
    // The acceptor may open the connection (onOpen) before this returns.
    this.upgrade.accept(decision.subprotocol, decision.headers);
    return opened;
  }

  private close(message: SendMessage): Promise<void> {
    const decision = parseClose(message);
    if (this.appFinishedSending) {
      throw new ProtocolError('websocket.close was sent twice (or after the app returned); send it once');
    }
    const phase = this.phase;
    if (phase === Phase.Connecting) {
      // ASGI: closing before accepting refuses the handshake with 403.
      this.appFinishedSending = true;
      this.refuse(403);
      return RESOLVED;
    }
    if (phase === Phase.Closing || phase === Phase.Closed) throw this.disconnected('websocket.close');
    this.appFinishedSending = true;
    return this.enqueue(decision);
  }

  /** Hands `payload` to the link now if nothing waits before it, else queues it in order. */
  private enqueue(payload: Outgoing['payload']): Promise<void> {
    if (this.phase === Phase.Open && !this.blocked && this.outbox.length === 0) {
      if (isClose(payload)) {
        this.startClosing(payload);
        return RESOLVED;
      }
      if (this.link!.send(payload)) return RESOLVED;
      return this.waitForDrain();
    }
    return new Promise((resolve, reject) => this.outbox.push({ payload, resolve, reject }));
  }

  private waitForDrain(): Promise<void> {
    this.blocked = true;
    return new Promise((resolve, reject) => {
      this.drainWaiter = { resolve, reject };
    });
  }

  /** Sends what the outbox holds until the link pushes back or the close frame goes. */
  private flush(): void {
    while (!this.blocked && this.phase === Phase.Open && this.outbox.length > 0) {
      const item = this.outbox.shift()!;
      const payload = item.payload;
      if (isClose(payload)) {
        item.resolve();
        this.startClosing(payload);
        return;
      }
      if (this.link!.send(payload)) {
        item.resolve();
      } else {
        this.blocked = true;
        this.drainWaiter = item;
      }
    }
  }

  private startClosing(decision: CloseDecision): void {
    this.phase = Phase.Closing;
    // onClose may run inside this call (uWS).
    this.link!.close(decision.code, decision.reason);
  }

  /** Closes on the server's own account (app returned or failed, queue overflow), after what is queued. */
  private closeForApp(code: number, reason: string): void {
    if (this.appFinishedSending || (this.phase !== Phase.Open && this.phase !== Phase.Accepting)) return;
    this.appFinishedSending = true;
    void this.enqueue({ code, reason }).catch(() => undefined);
  }

  private refuse(code: 403 | 500, detail?: string): void {
    this.phase = Phase.Rejected;
    this.decided = true;
    if (code === 403) {
      this.upgrade.reject('403 Forbidden', FORBIDDEN_HEADERS, FORBIDDEN_BODY);
      this.logAccess(403, FORBIDDEN_BODY.byteLength);
    } else {
      const response = serverResponse(500, detail);
      this.upgrade.reject(response.head.status, response.head.headers, response.body);
      this.logAccess(500, response.body.byteLength);
    }
    this.inbox.end({ type: 'websocket.disconnect', code: ABNORMAL, reason: '' });
  }

  // --- acceptor events ------------------------------------------------------------------------

  onOpen(link: WebSocketLink): void {
    if (this.phase !== Phase.Accepting) return;
    this.link = link;
    this.phase = Phase.Open;
    this.inbox.canPause = link.pause !== undefined;
    this.logAccess(101, 0);
    if (this.runtime.report !== null) {
      this.counted = true;
      this.runtime.report.webSocketOpened();
    }
    const waiter = this.openWaiter!;
    this.openWaiter = null;
    waiter.resolve();
    this.flush();
  }

  onMessage(message: string | Uint8Array): void {
    if (this.phase !== Phase.Open && this.phase !== Phase.Closing) return;
    if (typeof message === 'string') this.inbox.push({ type: 'websocket.receive', text: message }, message.length);
    else this.inbox.push({ type: 'websocket.receive', bytes: message }, message.byteLength);
  }

  onDrain(): void {
    if (!this.blocked || this.phase !== Phase.Open) return;
    this.blocked = false;
    const waiter = this.drainWaiter!;
    this.drainWaiter = null;
    waiter.resolve();
    this.flush();
  }

  onClose(code: number, reason: string): void {
    // After a refusal the HTTP answer was the end; nothing is owed to the app.
    if (this.phase === Phase.Closed || this.phase === Phase.Rejected) return;
    this.phase = Phase.Closed;
    this.link = null;
    // A client that left before the app decided: the handshake ends without a status.
    this.logAccess(0, 0);
    if (this.counted) {
      this.counted = false;
      this.runtime.report!.webSocketClosed();
    }
    const openWaiter = this.openWaiter;
    this.openWaiter = null;
    openWaiter?.reject(this.disconnected('websocket.accept'));
    const drainWaiter = this.drainWaiter;
    this.drainWaiter = null;
    drainWaiter?.reject(this.disconnected('websocket.send'));
    const outbox = this.outbox;
    this.outbox = [];
    for (const item of outbox) {
      // A queued close is fulfilled by the connection closing; queued messages are lost.
      if (isClose(item.payload)) item.resolve();
      else item.reject(this.disconnected('websocket.send'));
    }
    this.inbox.end({ type: 'websocket.disconnect', code, reason });
  }

  // --- InboxFlow --------------------------------------------------------------------------------

  pause(): void {
    if (this.phase === Phase.Open || this.phase === Phase.Closing) this.link!.pause!();
  }

  resume(): void {
    if (this.phase === Phase.Open || this.phase === Phase.Closing) this.link!.resume!();
  }

  overflow(): void {
    if (this.phase !== Phase.Open) return;
    this.runtime.logger.log(
      'warning',
      `${this.label()}: closed with 1008: the app left more than ${this.inbox.length} messages unread and this ` +
        `backend cannot stop reading a websocket; call receive() more often (or use the llhttp or node backend, which pause)`,
    );
    // Past the bound, queued outgoing messages are not worth waiting for.
    this.startClosing({ code: 1008, reason: 'the server could not keep up with the messages' });
  }

  // --- the app's outcome ----------------------------------------------------------------------

  appReturned(): void {
    const phase = this.phase;
    if (phase === Phase.Connecting) {
      this.runtime.logger.log(
        'error',
        `${this.label()}: the app returned without accepting or refusing the websocket (send websocket.accept, ` +
          `or websocket.close to refuse it); answered 500`,
      );
      this.refuse(500);
      return;
    }
    // As uvicorn: an app that returns with the connection open closes it normally.
    this.closeForApp(1000, '');
  }

  appFailed(error: unknown): void {
    const over = this.phase === Phase.Closed || this.phase === Phase.Closing;
    if (over && error instanceof DisconnectedError) {
      // The app noticed the client left: that is not a fault.
      this.runtime.logger.log('debug', `${this.label()}: ${error.message}`);
      return;
    }
    if (!this.loggedErrors.has(error as object)) {
      this.runtime.logger.log('error', `${this.label()}: the app raised an error:\n${stackOf(error)}`);
    }
    if (this.phase === Phase.Connecting) this.refuse(500, this.runtime.debug ? stackOf(error) : undefined);
    else this.closeForApp(1011, '');
  }

  // --- helpers --------------------------------------------------------------------------------

  /** Logs a protocol misuse where it happened (the app may swallow it) and returns it to throw. */
  private misuse(error: unknown): unknown {
    if (error instanceof ProtocolError || error instanceof ResponseHeadError) {
      this.loggedErrors.add(error);
      this.runtime.logger.log('error', `${this.label()}: ${error.message}`);
    }
    return error;
  }

  private disconnected(what: string): DisconnectedError {
    return new DisconnectedError(
      `${what} cannot be sent: the websocket is closed (receive() returns websocket.disconnect); stop sending on it`,
    );
  }

  /** The handshake's outcome: 101, or the refusal's status and body bytes (0: the client left first). Once. */
  private logAccess(status: number, bytes: number): void {
    if (this.reported) return;
    this.reported = true;
    this.runtime.report?.ended(this, status, bytes, null);
  }

  private label(): string {
    const scope = this.scope;
    return `websocket ${scope.raw_path}${scope.query_string === '' ? '' : '?' + scope.query_string}`;
  }
}
