/**
 * The wire rules of one HTTP response, the same for gateway exchanges (exchange.ts) and event-app
 * calls (event/http.ts), so the two interfaces cannot drift apart (docs/spec.md §5, §8, §10):
 *
 * - HEAD, 204 and 304 put no body on the wire. HEAD announces what a GET would: the app's
 *   Content-Length, else the body's length when known; 204 and 304 announce no length at all.
 * - A declared Content-Length is a ceiling (`room`) and a promise: a body that ends short of it
 *   cuts the connection, so the client cannot take a partial response for a whole one.
 * - The server's own answers (a 500 for a fault, a 413) and the refusal of a request whose
 *   framing or Host cannot be trusted (core/framing.ts) are written here.
 * - Once the response is over, one access-log line with the status and the body bytes sent.
 */
import type { Logger } from '../server/logger.js';
import type { BodyChunk, HeaderPair } from '../spec/types.js';
import type { ExchangeReport, ReportedExchange } from './exchange-report.js';
import type { Refusal } from './framing.js';
import { isBodiless, type ResponseHead } from './response-head.js';
import { serverResponse } from './server-responses.js';
import type { Transport } from './transport.js';

/** What the request's owner (an exchange, an event call) tells the wire about itself. */
export interface WireOwner extends ReportedExchange {
  /** The response is over: sent whole, cut, refused, or the client left. */
  responseOver(): void;
}

export const enum WireState {
  /** Nothing on the wire yet. */
  Idle,
  /** Headers are out; a body is streaming. */
  Streaming,
  /** The response is over. */
  Done,
}

const enum Announce {
  /** No Content-Length (204/304; a stream of unknown length). */
  None = -1,
}

export class ResponseWire {
  state = WireState.Idle;
  /** The status sent, or 0 when none was (the access log shows `-`). */
  private status = 0;
  /** Body bytes put on the wire. */
  bytes = 0;
  /** The headers of the response sent, for the access log. */
  private headers: readonly HeaderPair[] | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly isHead: boolean,
    private readonly logger: Logger,
    private readonly owner: WireOwner,
    private readonly report: ExchangeReport | null,
  ) {}

  get done(): boolean {
    return this.state === WireState.Done;
  }

  /** A status line went out (the response may since have ended or been cut). */
  get headersSent(): boolean {
    return this.status !== 0;
  }

  /** Whether a response with `head` carries no body: a HEAD request, or a 204/304. */
  sendsNoBody(head: ResponseHead): boolean {
    return this.isHead || isBodiless(head.statusCode);
  }

  /** Body bytes that may still be sent under the head's Content-Length (Infinity without one). */
  room(head: ResponseHead): number {
    return head.declaredLength === -1 ? Infinity : head.declaredLength - this.bytes;
  }

  /**
   * The whole response in one burst. `body` holds `length` bytes (null when there are none); for
   * HEAD, 204 and 304 nothing of it is sent, and `length` (-1 when unknown) only informs what HEAD
   * announces.
   */
  sendWhole(head: ResponseHead, body: BodyChunk | null, length: number): void {
    this.status = head.statusCode;
    this.headers = head.headers;
    if (this.sendsNoBody(head)) {
      let announced: number = Announce.None;
      if (!isBodiless(head.statusCode)) announced = head.declaredLength !== -1 ? head.declaredLength : length;
      this.transport.sendWhole(head, null, announced, false);
    } else {
      this.bytes = length;
      this.transport.sendWhole(head, length === 0 ? null : body, length, false);
    }
    this.over();
  }

  /** Sends status and headers of a body that follows in `writeStream` calls. */
  startStream(head: ResponseHead): void {
    this.status = head.statusCode;
    this.headers = head.headers;
    this.state = WireState.Streaming;
    this.transport.startStream(head, head.declaredLength);
  }

  /** One body chunk of `length` bytes (within `room`); false means "wait for drain". */
  writeStream(chunk: BodyChunk, length: number): boolean {
    this.bytes += length;
    return this.transport.writeStream(chunk);
  }

  /**
   * The body is over. Returns false when it fell short of the head's Content-Length: nothing more
   * can make the response whole, so the connection has been cut (the caller says why). A response
   * with nothing sent yet goes out empty, unless it promised a body.
   */
  endBody(head: ResponseHead, trailers: readonly HeaderPair[] | null = null): boolean {
    const declared = head.declaredLength;
    if (this.state === WireState.Idle) {
      if (declared > 0 && !this.sendsNoBody(head)) {
        this.abort();
        return false;
      }
      this.sendWhole(head, null, 0);
      return true;
    }
    if (declared !== -1 && this.bytes < declared) {
      this.abort();
      return false;
    }
    this.transport.endStream(trailers);
    this.over();
    return true;
  }

  /** The server's own response (500 for a fault, 413), when nothing has been sent yet. */
  serverAnswer(code: number, detail?: string, closeConnection = false): void {
    const response = serverResponse(code, detail);
    const length = response.body.byteLength;
    this.status = code;
    this.headers = response.head.headers;
    this.bytes = this.isHead ? 0 : length;
    this.transport.sendWhole(response.head, this.isHead ? null : response.body, length, closeConnection);
    this.over();
  }

  /** Refuses a request whose framing or Host cannot be trusted (core/framing.ts), before any app sees it. */
  refuse(refusal: Refusal, label: string): void {
    const response = serverResponse(refusal.status, refusal.reason);
    this.status = refusal.status;
    this.headers = response.head.headers;
    this.logger.log('info', `${label}: refused: ${refusal.reason}`);
    if (refusal.framingSound === true) this.transport.sendWhole(response.head, response.body, response.body.byteLength, true);
    else this.transport.refuse(response.head, response.body);
    this.over();
  }

  /** Cuts the connection: what was written stays written, nothing more is sent. */
  abort(): void {
    this.transport.abort();
    this.over();
  }

  /** The client went away: the response is over without touching the transport. */
  abandon(): void {
    this.over();
  }

  private over(): void {
    if (this.state === WireState.Done) return;
    this.state = WireState.Done;
    this.report?.ended(this.owner, this.status, this.bytes, this.headers);
    this.owner.responseOver();
  }
}
