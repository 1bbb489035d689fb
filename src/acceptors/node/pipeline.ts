/**
 * One node:http connection's requests, answered one at a time in arrival order. node:http emits
 * every pipelined request at once, which would let a later GET reach the app before an earlier
 * POST's body is read, and would keep serving requests after a response that closes the
 * connection (RFC 9112 §9.3.2, §9.6). So later requests wait here; none is served once a response
 * said `Connection: close`; and the answer to a request node's parser refused goes out after
 * the responses ahead of it instead of cutting them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface PendingRequest {
  req: IncomingMessage;
  res: ServerResponse;
  expectsContinue: boolean;
}

export class ConnectionPipeline {
  /** A request is being answered. */
  busy = false;
  /** A response said `Connection: close`: nothing after it is served. */
  closing = false;
  /** Responses given on this connection (--max-requests-per-connection). */
  answered = 0;
  private readonly waiting: PendingRequest[] = [];
  /** The request being answered. */
  private current: PendingRequest | null = null;
  /** The answer to a request the parser refused, written once the responses ahead of it are out. */
  private refusal: Buffer | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly start: (request: PendingRequest) => void,
  ) {}

  /** A request arrived: answered now, after those ahead of it, or (closing) never. */
  offer(request: PendingRequest): void {
    if (this.closing) return;
    if (this.busy) this.waiting.push(request);
    else this.begin(request);
  }

  /** The response being written announces the connection's end. */
  close(): void {
    this.closing = true;
    this.waiting.length = 0;
  }

  /** Node's parser refused what came next: answer it after the responses ahead, then close. */
  refuse(answer: Buffer): void {
    // After a response that closes the connection, what follows is not read as requests.
    if (this.closing) return;
    const current = this.busy ? this.current : null;
    if (current !== null && !current.req.complete) {
      // The error is inside the body of the request being answered: it can never complete.
      // Answered now when nothing of its response went out, else cut; the core learns from
      // the connection's close.
      this.close();
      if (current.res.headersSent) this.socket.destroy();
      else this.socket.end(answer);
      return;
    }
    if (!this.busy && this.waiting.length === 0) {
      this.closing = true;
      this.socket.end(answer);
      return;
    }
    this.refusal = answer;
  }

  /** The request being answered is over: the next one starts (on the next tick, after the response's last write). */
  done(): void {
    this.busy = false;
    if (this.waiting.length > 0 || this.refusal !== null) process.nextTick(() => this.advance());
  }

  private advance(): void {
    if (this.busy) return;
    // The client left: what waited is never answered (its app was never called).
    if (this.socket.destroyed) this.close();
    const next = this.waiting.shift();
    if (next !== undefined && !this.closing) {
      this.begin(next);
    } else if (this.refusal !== null && !this.closing && this.socket.writable) {
      this.closing = true;
      this.socket.end(this.refusal);
      this.refusal = null;
    }
  }

  private begin(request: PendingRequest): void {
    this.busy = true;
    this.current = request;
    this.start(request);
  }
}
