/**
 * One request of a tsgi app behind a fetch handler: the request body read from its stream one
 * chunk per `receive()`, and the `Response` handed back once the app has sent its head and first
 * body message — whole when that message was the last (so the runtime knows the length), else as
 * a stream the app feeds through `send()` under the consumer's backpressure. The client leaving
 * (the runtime cancels the body stream, or aborts `request.signal`) is http.disconnect.
 */
import type { HttpScope, ReceiveMessage } from '../../spec/event-types.js';
import type { HeaderPair } from '../../spec/types.js';
import { PushedBody } from './body.js';
import { DISCONNECT, HostExchange, LAST_EMPTY } from '../host/exchange.js';
import type { HostReport } from '../host/report.js';
import { isBodilessStatus, outgoingHeaders, type CheckedStart } from '../host/response.js';

const SERVER_ERROR = 'Internal Server Error\n';
const GONE: unique symbol = Symbol('client gone');

function responseHeaders(pairs: readonly HeaderPair[]): Headers {
  const headers = new Headers();
  // append, not set: several Set-Cookie stay several.
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}

export class FetchExchange extends HostExchange {
  /** Settles with the Response the fetch handler returns. */
  readonly response: Promise<Response>;
  private resolveResponse!: (response: Response) => void;
  private body: PushedBody | null = null;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** Resolves when the client leaves, so a pending body read gives way. */
  private readonly gone: Promise<typeof GONE>;
  private markGone!: () => void;
  /** request.signal while it is listened to (until the response is complete). */
  private signal: AbortSignal | null = null;
  /** The Response was given to the runtime. */
  private handedOver = false;
  private readonly onAbort = (): void => this.clientLeft();

  constructor(
    private readonly request: Request,
    scope: HttpScope,
    report: HostReport,
  ) {
    super(scope, report, 'a fetch Response has no trailers');
    this.response = new Promise((resolve) => {
      this.resolveResponse = (response) => {
        this.handedOver = true;
        resolve(response);
      };
    });
    this.gone = new Promise((resolve) => {
      this.markGone = () => resolve(GONE);
    });
    const signal = request.signal as AbortSignal | undefined;
    if (signal !== undefined && signal !== null) {
      if (signal.aborted) this.clientLeft();
      else {
        this.signal = signal;
        signal.addEventListener('abort', this.onAbort, { once: true });
      }
    }
  }

  protected override clientLeft(): void {
    if (this.clientGone || this.responseOver) return;
    super.clientLeft();
    this.markGone();
    this.body?.abandon(this.disconnected('http.response.body'));
    // Nobody will read an answer now, but the runtime's promise must settle. 499 is nginx's
    // "client closed request"; the app still runs to its end and hears http.disconnect.
    if (!this.handedOver) this.resolveResponse(new Response(null, { status: 499 }));
  }

  protected override completed(): void {
    super.completed();
    // Deno aborts request.signal after every response (its legacy behaviour, with a warning when
    // a listener hears it): once the response is complete there is nothing left to hear.
    this.signal?.removeEventListener('abort', this.onAbort);
    this.signal = null;
  }

  // --- the request body -------------------------------------------------------------------------

  protected async readBody(): Promise<ReceiveMessage> {
    const stream = this.request.body;
    if (stream === null) return LAST_EMPTY;
    this.reader ??= stream.getReader();
    let result: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>> | typeof GONE;
    try {
      result = await Promise.race([this.reader.read(), this.gone]);
    } catch {
      // The runtime failed the body: the client went away mid-upload.
      this.clientLeft();
      return DISCONNECT;
    }
    if (result === GONE) return DISCONNECT;
    if (result.done) return LAST_EMPTY;
    // No look-ahead for the end (that would read ahead of the app): the last message is empty.
    return { type: 'http.request', body: result.value, more_body: true };
  }

  // --- the response -----------------------------------------------------------------------------

  protected respond(start: CheckedStart, body: Uint8Array | null, headLength: number | null): void {
    const content = body === null || isBodilessStatus(start.status) ? null : body;
    this.resolveResponse(new Response(content, { status: start.status, headers: responseHeaders(outgoingHeaders(start, headLength)) }));
    this.completed();
  }

  protected openStream(start: CheckedStart): void {
    const body = new PushedBody(
      () => this.clientLeft(),
      () => this.disconnected('http.response.body'),
    );
    this.body = body;
    this.resolveResponse(new Response(body.readable, { status: start.status, headers: responseHeaders(outgoingHeaders(start, null)) }));
  }

  protected writeStream(bytes: Uint8Array): Promise<void> {
    return this.body!.push(bytes);
  }

  protected closeStream(last: Uint8Array): void {
    this.body!.close(last);
    this.completed();
  }

  protected answerServerError(): void {
    this.resolveResponse(new Response(SERVER_ERROR, { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' } }));
    this.completed();
  }

  protected abortResponse(reason: Error): void {
    this.body?.error(reason);
    this.completed();
  }
}
