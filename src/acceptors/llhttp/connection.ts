/**
 * One TCP connection served by llhttp (uvicorn's httptools protocol and undici's client-h1 are
 * the models):
 *
 * - Reading: the parser consumes the socket's handle, so reads go from libuv to llhttp in C++
 *   and only parsed pieces reach JS. Reading stops (`hold`) while the app has paused its body,
 *   while too many requests or body bytes wait their turn, while unread responses pile up behind
 *   a pipelining client, and once the connection is ending; it starts again when all clear.
 * - Pipelining: requests are answered one at a time in arrival order. Later ones wait here with
 *   their bodies, at most MAX_PIPELINED of them and MAX_QUEUED_BODY bytes, however long the
 *   current response waits on I/O.
 * - Writing: everything written while a read is being parsed, or within one tick, leaves in one
 *   burst (`cork`, then one `writev`). Backpressure is the socket's own (`write()` and 'drain').
 * - Refusing: a parse error, CONNECT or an unknown expectation stops
 *   the parser at once, so nothing after it can be read as a request; the answer (400, 417,
 *   431, 501, 505) waits for the responses ahead of it, then the connection closes. (Version,
 *   Host and framing rules are the core's, for every backend: core/framing.ts.)
 * - Timeouts: the acceptor's sweep calls `checkTimeouts` with its coarse clock.
 */
import type { Socket } from 'node:net';
import type { BodyChunk } from '../../spec/types.js';
import { parseErrorRefusal, refusal } from '../http1.js';
import { proxiedPeer } from '../proxy-preface.js';
import type { AcceptorOptions } from '../types.js';
import type { LlhttpBinding, ParseError } from './binding.js';
import { acquireParser, armMessageComplete, releaseParser, type OwnedParser } from './parsers.js';
import { LlhttpRequest, readHead, type BodyAccounting } from './request.js';
import { Output, type OutputOwner } from './output.js';
import { LlhttpTransport } from './transport.js';

/** Why reading is stopped; reading runs while none holds. */
const enum Hold {
  /** The app paused the body it is reading. */
  App = 1,
  /** Enough requests or body bytes are waiting their turn. */
  Pipeline = 2,
  /** The client does not read the responses to what it pipelined. */
  Output = 4,
  /** A websocket handshake waits its turn: what follows it is not HTTP. */
  Upgrade = 8,
}

/** Requests parsed ahead of the one being answered, at most, before reading stops. */
export const MAX_PIPELINED = 16;
/** Body bytes of requests waiting their turn, at most, before reading stops. */
const MAX_QUEUED_BODY = 64 * 1024;
/**
 * A request body the response left unread is read and dropped, so the connection carries the next
 * request, when at most this much of it is still to come; beyond, or when its length is unknown,
 * the connection closes after the response.
 */
const MAX_DISCARDED_BODY = 16 * 1024 * 1024;
/**
 * How often the acceptor checks timeouts; the clock connections read moves in these steps.
 * Checking 10,000 connections takes well under a millisecond.
 */
export const SWEEP_MS = 100;
/**
 * How long a keep-alive connection waits between requests before its parser goes back to the
 * pool. Times are on the acceptor's coarse clock, which moves one sweep (SWEEP_MS) at a time: a
 * connection that answered anything since the last sweep reads as idle for up to one step, so
 * the threshold is two steps, and a busy connection is never taken for an idle one.
 */
const IDLE_PARSER_MS = 2 * SWEEP_MS;
/** How long a closing connection may take to flush and hear the client close, before it is destroyed. */
const CLOSE_FLUSH_MS = 5000;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

export interface ConnectionHost {
  readonly binding: LlhttpBinding;
  readonly options: AcceptorOptions;
  /** The server is shutting down. */
  readonly closing: boolean;
  /** Websocket handshakes go to the `ws` package (the app is an event app). */
  readonly webSockets: boolean;
  /** A coarse clock in ms, advanced by the acceptor's timeout sweep. */
  readonly clock: number;
  dispatch(request: LlhttpRequest, transport: LlhttpTransport): void;
  /** The connection is a websocket now: the acceptor hands it to `ws`. */
  upgrade(request: LlhttpRequest, socket: Socket, bodyHead: Buffer): void;
  exchangeEnded(): void;
  /** The connection is gone (or upgraded): it is no longer the acceptor's to close. */
  released(connection: Connection): void;
  clientTimedOut(message: string): void;
  internalError(message: string): void;
}

interface StreamHandle {
  isStreamBase?: boolean;
  reading?: boolean;
  readStart(): number;
  readStop(): number;
}

export class Connection implements BodyAccounting, OutputOwner {
  readonly remoteAddress: string;
  readonly remotePort: string;
  /** Null while the connection sits idle (its parser went back to the pool) and once it is over. */
  private parser: OwnedParser | null;
  private readonly handle: StreamHandle | null;
  /** Requests whose heads were parsed and whose responses are not over; [0] is being answered. */
  private requests: LlhttpRequest[] = [];
  /** The request whose body the parser is reading. */
  private parsing: LlhttpRequest | null = null;
  /** Headers and URL the parser flushed before the head was complete (a long or split head). */
  private earlyHeaders: string[] = [];
  private earlyUrl = '';
  private holds = 0;
  /** Responses this connection has given (--max-requests-per-connection). */
  private answered = 0;
  private queuedBody = 0;
  private readonly output: Output;
  private advancing = false;
  /** The parser takes no more requests (one was refused, or the connection is ending). */
  private stopped = false;
  /** The response being written is the connection's last. */
  private ending = false;
  /** The socket is ending or gone: nothing more is written. */
  private closed = false;
  /** The answer to a refused request, written once the responses ahead of it are out. */
  private refusalAnswer: Buffer | null = null;
  /** The parser stopped after a request with an Upgrade header; what followed it in that read. */
  private stoppedAtUpgrade = false;
  private upgradeBytes: Buffer | null = null;
  /** The chunk being parsed, when the socket could not be consumed (no stream handle). */
  private chunk: Buffer | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  /** The parser reads straight from the handle; otherwise reads arrive as 'data' events. */
  private consumed = false;
  /** The acceptor has forgotten this connection (closed or upgraded). */
  private released = false;
  // Timeouts, on the host's coarse clock.
  private idleSince: number;
  private headStartedAt = 0;
  private lastBodyAt = 0;

  /** `preread`: bytes already read from the socket (after a PROXY header), parsed first. */
  constructor(
    private readonly host: ConnectionHost,
    readonly socket: Socket,
    preread: Buffer | null = null,
  ) {
    const proxied = host.options.proxyProtocol ? proxiedPeer(socket) : undefined;
    this.remoteAddress = proxied?.address ?? socket.remoteAddress ?? '';
    const port = proxied?.port ?? socket.remotePort;
    this.remotePort = port === undefined ? '' : String(port);
    this.idleSince = host.clock;
    this.output = new Output(socket, this);
    const parser = acquireParser(host.binding, host.options.maxHeaderSize);
    parser.connection = this;
    this.parser = parser;
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on('end', onSocketGone);
    socket.on('error', onSocketGone);
    socket.on('close', onSocketClose);
    socket.on('drain', onSocketDrain);
    const handle = (socket as unknown as { _handle: StreamHandle | null })._handle;
    if (handle !== null && handle.isStreamBase === true) {
      this.handle = handle;
      this.consumed = true;
      parser.consume(handle);
      // Flowing mode, so the end of the stream (which the parser passes back) emits 'end'.
      socket.resume();
    } else {
      this.handle = null;
      socket.on('data', onSocketData);
    }
    if (preread !== null && preread.byteLength > 0) this.onData(preread);
  }

  // --- the parser's callbacks (via the functions at the end of this file) --------------------

  onHeaders(headers: string[], url: string): void {
    this.output.batching = true;
    for (const part of headers) this.earlyHeaders.push(part);
    this.earlyUrl += url;
  }

  /** Heads and bodies completed while parsing the current read (see onExecute). */
  private messagesInRead = 0;
  /** Whether the parser calls `onMessageComplete` (only while a request body is being read). */
  private messageCompleteArmed = false;

  onHeadersComplete(
    major: number,
    minor: number,
    flatHeaders: string[] | undefined,
    method: number,
    flatUrl: string | undefined,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    this.output.batching = true;
    this.messagesInRead++;
    this.headStartedAt = 0;
    let headers = flatHeaders;
    let url = flatUrl;
    if (headers === undefined) {
      headers = this.earlyHeaders;
      this.earlyHeaders = [];
    }
    if (url === undefined) {
      url = this.earlyUrl;
      this.earlyUrl = '';
    }
    // Pipelined requests after the last one answered are not read (the client learns from
    // `Connection: close`, or from the refusal, that they were not processed).
    if (this.stopped || this.ending) return -1;
    const request = readHead(this, major, minor, headers, this.host.binding.methods[method] ?? '', url, keepAlive, this.remoteAddress, this.remotePort);
    if (!(request instanceof LlhttpRequest)) return this.refuse(request.status, request.detail);
    this.requests.push(request);
    // The end of a message only matters when it has a body: a body-less request is complete
    // now, and the parser is spared a call into JS for every such request.
    if (!request.bodyComplete) {
      this.parsing = request;
      if (!this.messageCompleteArmed) this.armMessageComplete(true);
    } else if (this.messageCompleteArmed) {
      this.armMessageComplete(false);
    }
    let verdict = 0;
    if (upgrade) {
      // llhttp stops after a request with Upgrade (or CONNECT): what follows is either another
      // protocol, handed over with the socket, or more HTTP, parsed again in onExecute.
      this.stoppedAtUpgrade = true;
      if (this.host.webSockets && request.upgradeTo.toLowerCase() === 'websocket') {
        request.upgrade = true;
        // "No body; the rest is the upgraded protocol."
        verdict = 2;
      }
    }
    if (this.requests.length === 1) this.advance();
    else if (this.requests.length > MAX_PIPELINED) this.hold(Hold.Pipeline);
    return verdict;
  }

  onBody(chunk: Buffer): void {
    this.output.batching = true;
    this.parsing?.onBody(chunk);
  }

  onMessageComplete(): void {
    this.output.batching = true;
    this.messagesInRead++;
    // A trailer section arrives like early headers; nothing reads it, and it must not be taken
    // for the start of the next head.
    this.earlyHeaders = [];
    this.earlyUrl = '';
    const request = this.parsing;
    if (request === null) return;
    this.parsing = null;
    request.onBodyEnd();
  }

  private armMessageComplete(armed: boolean): void {
    this.messageCompleteArmed = armed;
    armMessageComplete(this.parser!, this.host.binding, armed);
  }

  /** A throw in the backend's own code while parsing (a tsgi bug): logged, and the connection is cut. */
  fault(error: unknown): void {
    try {
      this.socket.destroy();
    } finally {
      this.host.internalError(`internal error in the llhttp backend: ${(error as Error).stack ?? String(error)}`);
    }
  }

  /** After each read was parsed: the bytes parsed, or the parse error. */
  onExecute(result: number | ParseError | undefined): void {
    this.output.batching = false;
    // A read that completed no head and no body while nothing is in flight brought the start of
    // a head (a client that trickles its head: slowloris). The head timeout counts from the
    // first such read.
    if (this.messagesInRead === 0 && this.requests.length === 0 && this.parsing === null && this.headStartedAt === 0) {
      this.headStartedAt = this.host.clock;
    }
    this.messagesInRead = 0;
    if (typeof result === 'object') {
      this.onParseError(result);
    } else if (this.stoppedAtUpgrade && typeof result === 'number') {
      this.afterUpgradeStop(result);
    }
    this.flush();
  }

  /** A read that came as a 'data' event (no stream handle, or after the parser was let go while idle). */
  onData(chunk: Buffer): void {
    let parser = this.parser;
    if (parser === null) {
      if (this.released) return;
      parser = acquireParser(this.host.binding, this.host.options.maxHeaderSize);
      parser.connection = this;
      this.parser = parser;
      // A pooled parser comes with its message-complete callback off, whatever the last one had.
      this.messageCompleteArmed = false;
    }
    this.chunk = chunk;
    const result = parser.execute(chunk);
    this.onExecute(result);
    this.chunk = null;
  }

  private afterUpgradeStop(parsed: number): void {
    this.stoppedAtUpgrade = false;
    const parser = this.parser!;
    const whole = this.chunk ?? parser.getCurrentBuffer();
    const rest = whole.subarray(parsed);
    const last = this.requests[this.requests.length - 1];
    if (last !== undefined && last.upgrade) {
      this.upgradeBytes = Buffer.from(rest);
      this.hold(Hold.Upgrade);
      this.advance();
    } else if (rest.byteLength > 0 && !this.closed) {
      // A plain request that carried an Upgrade header (h2c): the bytes after it are HTTP.
      this.chunk = rest;
      this.onExecute(parser.execute(rest));
    }
  }

  private onParseError(error: ParseError): void {
    if (this.stopped || this.ending || this.closed) return;
    this.refusalAnswer = parseErrorRefusal(error.code, error.reason);
    this.stopped = true;
    const broken = this.parsing;
    this.parsing = null;
    if (broken !== null) {
      // The error is inside this request's body: it cannot be completed.
      broken.discard();
      if (broken.transport === null) {
        this.requests.pop();
      } else if (broken.transport.headSent) {
        this.dropActive(broken);
        this.closeSocket();
        return;
      } else {
        this.dropActive(broken);
      }
    }
    if (this.requests.length === 0) this.writeRefusal();
  }

  /** Stops the parser at a request the server refuses; the answer goes out on its turn. */
  private refuse(status: number, detail: string): number {
    this.refusalAnswer = refusal(status, detail);
    // Responses ahead of the refused request still keep the connection: the refusal closes it.
    this.stopped = true;
    if (this.requests.length === 0) this.writeRefusal();
    return -1;
  }

  private writeRefusal(): void {
    const answer = this.refusalAnswer;
    if (answer === null || this.closed) return;
    this.refusalAnswer = null;
    this.output.send(answer);
    this.closeSocket();
  }

  // --- answering, one request at a time -------------------------------------------------------

  /** Hands the first waiting request to the core; again while responses complete at once. */
  private advance(): void {
    if (this.advancing) return;
    this.advancing = true;
    try {
      while (!this.closed) {
        const next = this.requests[0];
        if (next === undefined) {
          this.becameIdle();
          break;
        }
        if (next.transport !== null) break;
        if (next.upgrade) {
          if (this.upgradeBytes !== null) this.startUpgrade(next);
          break;
        }
        const transport = new LlhttpTransport(this, next);
        next.transport = transport;
        this.lastBodyAt = this.host.clock;
        this.host.dispatch(next, transport);
      }
    } finally {
      this.advancing = false;
    }
  }

  private becameIdle(): void {
    this.idleSince = this.host.clock;
    if (this.refusalAnswer !== null) this.writeRefusal();
    else if (this.host.closing) this.closeSocket();
  }

  /**
   * Whether the connection stays open after the response to `request` (and, when not, no more
   * requests are read). Decided when the response head goes out.
   */
  mayKeepAlive(request: LlhttpRequest, closeAsked: boolean): boolean {
    let keep = !closeAsked && request.keepAlive && !this.ending && !this.host.closing;
    const budget = this.host.options.maxRequestsPerConnection;
    if (budget > 0 && ++this.answered >= budget) keep = false;
    if (keep && !request.bodyComplete) {
      // The rest of an unread body would be read and dropped; a client that waits for
      // 100 Continue may never send it, and a large or unknown remainder is not worth reading.
      const remaining = request.remainingBody;
      if ((request.expectsContinue && !request.continueSent) || remaining === -1 || remaining > MAX_DISCARDED_BODY) keep = false;
    }
    if (!keep) this.ending = true;
    return keep;
  }

  /** The response to `request` is complete. */
  exchangeDone(request: LlhttpRequest, keepAlive: boolean): void {
    this.host.exchangeEnded();
    if (this.requests[0] === request) this.requests.shift();
    if (!request.bodyComplete) request.discard();
    this.release(Hold.App);
    if (!keepAlive) {
      this.closeSocket();
      return;
    }
    if (this.holds & Hold.Pipeline && this.requests.length <= MAX_PIPELINED && this.queuedBody <= MAX_QUEUED_BODY) {
      this.release(Hold.Pipeline);
    }
    this.advance();
  }

  /** The core cut the exchange: what was written is flushed, then the connection closes. */
  abortExchange(request: LlhttpRequest): void {
    this.host.exchangeEnded();
    if (this.requests[0] === request) this.requests.shift();
    request.discard();
    this.closeSocket();
  }

  /** The connection gives up on the request being answered: the core hears that it is gone. */
  private dropActive(request: LlhttpRequest): void {
    if (this.requests[0] === request) this.requests.shift();
    const transport = request.transport;
    if (transport !== null && !transport.isDone) {
      transport.onGone();
      this.host.exchangeEnded();
    }
  }

  pauseBody(): void {
    this.hold(Hold.App);
  }

  resumeBody(): void {
    this.lastBodyAt = this.host.clock;
    this.release(Hold.App);
  }

  // --- BodyAccounting -------------------------------------------------------------------------

  queuedBodyChanged(delta: number): void {
    this.queuedBody += delta;
    if (this.queuedBody > MAX_QUEUED_BODY) this.hold(Hold.Pipeline);
  }

  bodyArrived(): void {
    this.lastBodyAt = this.host.clock;
  }

  continueWanted(request: LlhttpRequest): void {
    if (this.closed || request.transport === null || request.transport.headSent) return;
    request.continueSent = true;
    this.writeRaw(CONTINUE);
  }

  // --- writing (output.ts) ------------------------------------------------------------------

  /** A response head (ending with its blank line) and, for a whole response, its body. */
  writeResponse(head: string, body: BodyChunk | null, bodyLength: number): void {
    if (!this.closed) this.output.response(head, body, bodyLength);
  }

  /** Body bytes of a response with a Content-Length (or close-delimited); false: wait for drain. */
  writeBody(chunk: BodyChunk): boolean {
    if (this.closed) return true;
    const writable = this.output.body(chunk);
    this.checkOutput();
    return writable;
  }

  /** One chunk of a chunked response; false: wait for drain. */
  writeChunk(chunk: BodyChunk): boolean {
    if (this.closed) return true;
    const writable = this.output.chunk(chunk);
    this.checkOutput();
    return writable;
  }

  writeRaw(text: string): void {
    if (!this.closed) this.output.send(text);
  }

  /** Everything written so far leaves (see output.ts). */
  flush(): void {
    this.output.flush();
    this.checkOutput();
  }

  flushed(): void {
    this.checkOutput();
  }

  /** Unread responses pile up: stop reading further pipelined requests until the client catches up. */
  private checkOutput(): void {
    if (this.parsing === null && this.socket.writableNeedDrain) this.hold(Hold.Output);
  }

  onDrain(): void {
    this.release(Hold.Output);
    this.requests[0]?.transport?.onDrain();
  }

  // --- reading --------------------------------------------------------------------------------

  private hold(reason: Hold): void {
    if (this.holds === 0) this.stopReading();
    this.holds |= reason;
  }

  private release(reason: Hold): void {
    if ((this.holds & reason) === 0) return;
    this.holds &= ~reason;
    if (this.holds === 0 && !this.closed) this.startReading();
  }

  private stopReading(): void {
    const handle = this.handle;
    if (handle === null || !this.consumed) {
      this.socket.pause();
    } else if (handle.reading !== false) {
      handle.reading = false;
      handle.readStop();
    }
  }

  private startReading(): void {
    const handle = this.handle;
    if (handle === null || !this.consumed) {
      this.socket.resume();
    } else if (handle.reading !== true && !this.socket.destroyed) {
      handle.reading = true;
      handle.readStart();
    }
  }

  // --- websockets -----------------------------------------------------------------------------

  private startUpgrade(request: LlhttpRequest): void {
    const bodyHead = this.upgradeBytes!;
    this.upgradeBytes = null;
    this.requests.shift();
    this.parsing = null;
    this.closed = true;
    this.flush();
    const socket = this.socket;
    socket.off('end', onSocketGone);
    socket.off('error', onSocketGone);
    socket.off('close', onSocketClose);
    socket.off('drain', onSocketDrain);
    socket.off('data', onSocketData);
    // Reading resumes (the handle's reads reach the socket's stream again once the parser lets
    // go of it, in the same turn, before any read can arrive) for the websocket to take over.
    this.startReading();
    this.detach();
    this.host.upgrade(request, this.socket, bodyHead);
  }

  // --- the end of the connection ---------------------------------------------------------------

  /**
   * Ends the connection: queued requests are dropped unanswered, what was written is flushed,
   * and the socket is destroyed if the client has not closed its side within CLOSE_FLUSH_MS.
   * Reading goes on meanwhile (into a parser that takes no more requests), so the client's
   * unread bytes do not turn the close into a reset that could destroy the last answer.
   */
  closeSocket(): void {
    if (this.closed) return;
    this.stopped = true;
    this.ending = true;
    this.closed = true;
    this.dropQueued();
    this.flush();
    this.release(Hold.App | Hold.Pipeline | Hold.Output);
    this.socket.end();
    this.closeTimer = setTimeout(destroySocket, CLOSE_FLUSH_MS, this.socket).unref();
  }

  /** Graceful shutdown: a connection between requests closes now. */
  closeIfIdle(): void {
    if (this.requests.length === 0) this.closeSocket();
  }

  /** The grace period is over. */
  destroy(): void {
    this.gone();
    this.socket.destroy();
  }

  private dropQueued(): void {
    const active = this.requests[0];
    if (active !== undefined && active.transport !== null) this.dropActive(active);
    for (const request of this.requests.splice(0)) request.discard();
    this.parsing?.discard();
    this.parsing = null;
  }

  /** The client closed or reset the connection: whatever is in flight is abandoned. */
  gone(): void {
    this.stopped = true;
    this.ending = true;
    this.closed = true;
    // Whatever is written still leaves (a FIN only ends the client's side).
    this.flush();
    this.dropQueued();
  }

  onClose(): void {
    this.gone();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.detach();
  }

  /** Lets go of the parser; the acceptor forgets the connection. */
  private detach(): void {
    if (this.released) return;
    this.released = true;
    this.letParserGo();
    this.host.released(this);
  }

  private letParserGo(): void {
    const parser = this.parser;
    if (parser === null) return;
    this.parser = null;
    parser.connection = null;
    releaseParser(parser, this.consumed);
    this.consumed = false;
  }

  /**
   * A keep-alive connection idle for IDLE_PARSER_MS gives its parser (about 2 KiB in C++) back
   * to the pool and reads through 'data' events from then on; the next request takes a parser
   * again. Thousands of idle connections then cost little more than their sockets, while a busy
   * connection (never idle that long) keeps its parser consuming the socket.
   */
  private idle(): void {
    if (!this.consumed || !this.parserBetweenMessages()) return;
    this.letParserGo();
    this.socket.on('data', onSocketData);
    // The two queues kept their grown backing stores; empty fresh ones cost nothing.
    this.requests = [];
    this.output.shrink();
  }

  /**
   * Whether the parser holds no part of a message. A read may end inside the next head (a
   * pipelining client whose write was split), and a fresh parser would take what follows for the
   * start of a request. llhttp's finish() is the probe: it fails ("invalid EOF state") exactly
   * when a message has begun, and changes nothing when it succeeds (a request parser at a
   * message boundary has nothing to finish).
   */
  private parserBetweenMessages(): boolean {
    const parser = this.parser;
    return parser !== null && typeof parser.finish() === 'number';
  }

  // --- timeouts -------------------------------------------------------------------------------

  /** Called by the acceptor's sweep with its clock (ms). */
  checkTimeouts(now: number): void {
    if (this.closed) return;
    const { keepAlive, head, body } = this.host.options.timeouts;
    const active = this.requests[0];
    if (active === undefined) {
      if (this.headStartedAt !== 0) {
        if (now - Math.max(this.headStartedAt, this.idleSince) >= head * 1000) {
          this.host.clientTimedOut(`${this.remoteAddress}: the request head took longer than ${head} s; answered 408`);
          this.refusalAnswer = refusal(408, `The request head did not arrive within ${head} s.`);
          this.stopped = true;
          this.writeRefusal();
        }
      } else if (now - this.idleSince >= keepAlive * 1000) {
        this.closeSocket();
      } else if (now - this.idleSince >= IDLE_PARSER_MS && this.holds === 0 && this.parsing === null) {
        this.idle();
      }
    } else if (active.transport !== null && active.reading && (this.holds & Hold.App) === 0 && now - this.lastBodyAt >= body * 1000) {
      const label = `${active.method} ${active.rawPath}`;
      if (active.transport.headSent) {
        this.host.clientTimedOut(`${label}: the request body stalled for ${body} s after the response started; the connection was closed`);
        this.closeSocket();
      } else {
        this.host.clientTimedOut(`${label}: the request body stalled for ${body} s; answered 408`);
        this.dropActive(active);
        this.refusalAnswer = refusal(408, `No request body bytes arrived for ${body} s.`);
        this.stopped = true;
        this.writeRefusal();
      }
    }
  }
}

// Socket listeners shared by every connection (no closures per connection): the socket knows
// its connection.
const CONNECTION = Symbol('tsgi.connection');

interface OwnedSocket extends Socket {
  [CONNECTION]: Connection;
}

function onSocketGone(this: OwnedSocket): void {
  this[CONNECTION].gone();
}

function onSocketClose(this: OwnedSocket): void {
  this[CONNECTION].onClose();
}

function onSocketDrain(this: OwnedSocket): void {
  this[CONNECTION].onDrain();
}

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[CONNECTION].onData(chunk);
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
