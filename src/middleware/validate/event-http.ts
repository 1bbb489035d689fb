/**
 * The http exchange of an event app (docs/spec.md §10): the order and fields of the request
 * messages the server yields, and of the response messages the app sends.
 */
import type { Message, Session } from './session.js';
import { checkHeaders, type HeaderSource } from './syntax.js';
import { show, type Report } from './violation.js';

const enum Response {
  NotStarted,
  /** http.response.start sent. */
  Started,
  /** A body message with more_body true sent. */
  Streaming,
  /** The last body message sent; trailers may be due. */
  BodyDone,
  Complete,
}

const enum Request {
  /** More http.request messages may come. */
  Reading,
  /** The one with more_body false came. */
  BodyDone,
  /** http.disconnect came: nothing else may. */
  Disconnected,
}

export class HttpSession implements Session {
  private response = Response.NotStarted;
  private request = Request.Reading;
  private trailersDue = false;
  private statusCode = 0;
  private declaredLength = -1;
  private bytes = 0;
  /** The app learned the client left (http.disconnect, or send() rejected): stopping early is fine. */
  private gone = false;
  private readonly isHead: boolean;
  private readonly canTrailers: boolean;

  constructor(
    private readonly report: Report,
    scope: Record<string, unknown>,
  ) {
    this.isHead = scope.method === 'HEAD';
    this.canTrailers = (scope.extensions as Record<string, unknown>)['http.response.trailers'] !== undefined;
  }

  // --- the server's side ----------------------------------------------------------------------

  received(message: Message): void {
    const fail = (rule: string, problem: string, fix: string) => this.report(rule, '§10', 'server', problem, fix);
    if (message.type === 'http.disconnect') {
      this.request = Request.Disconnected;
      this.gone = true;
      return;
    }
    if (message.type !== 'http.request') {
      throw fail(
        'receive.type',
        `receive() yielded a ${show(message.type)} message on an http connection`,
        'yield http.request messages, then http.disconnect',
      );
    }
    if (this.request !== Request.Reading) {
      throw fail(
        'receive.order',
        `receive() yielded http.request after ${this.request === Request.BodyDone ? 'the last one (more_body false)' : 'http.disconnect'}`,
        'after the message with more_body false, yield only http.disconnect',
      );
    }
    if (!(message.body instanceof Uint8Array)) {
      throw fail(
        'receive.http-request',
        `http.request body is ${show(message.body)}, not a Uint8Array`,
        'pass the body bytes as a Uint8Array (empty when there are none)',
      );
    }
    if (typeof message.more_body !== 'boolean') {
      throw fail(
        'receive.http-request',
        `http.request more_body is ${show(message.more_body)}, not a boolean`,
        'set more_body to true while more body follows, false on the last message',
      );
    }
    if (!message.more_body) this.request = Request.BodyDone;
  }

  // --- the app's side -------------------------------------------------------------------------

  sending(message: Message): Message {
    switch (message.type) {
      case 'http.response.start':
        return this.start(message);
      case 'http.response.body':
        this.body(message);
        return message;
      case 'http.response.trailers':
        return this.trailers(message);
      default:
        throw this.fail(
          'send.type',
          `send() got a ${show(message.type)} message on an http connection`,
          'send http.response.start, then http.response.body (and http.response.trailers when announced)',
        );
    }
  }

  private fail(rule: string, problem: string, fix: string) {
    return this.report(rule, '§10', 'app', problem, fix);
  }

  private source(rule: string, origin: string): HeaderSource {
    return { report: this.report, rule, section: '§10', origin, allowBytes: true };
  }

  private start(message: Message): Message {
    if (this.response !== Response.NotStarted) {
      throw this.fail('response-start.twice', 'http.response.start was sent a second time', 'send it once, before the body');
    }
    const status = message.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
      throw this.fail('response-start.status', `http.response.start has the status ${show(status)}`, 'give an integer from 200 to 599');
    }
    const headers = message.headers;
    const checked = headers === undefined ? { pairs: [], contentLength: -1 } : checkHeaders(
      headers,
      this.source('response-start', 'http.response.start'),
    );
    const trailers = message.trailers;
    if (trailers !== undefined && typeof trailers !== 'boolean') {
      throw this.fail(
        'response-start.trailers',
        `http.response.start has trailers: ${show(trailers)}`,
        'set trailers to true or false (or leave it out)',
      );
    }
    if (trailers === true && !this.canTrailers) {
      throw this.fail(
        'response-start.trailers',
        "http.response.start asks for trailers, but scope.extensions has no 'http.response.trailers' (uws, HTTP/1.0)",
        "check scope.extensions['http.response.trailers'] first, or send the values as headers",
      );
    }
    if (trailers === true && checked.contentLength !== -1) {
      throw this.fail(
        'response-start.trailers',
        'http.response.start asks for trailers and sets a Content-Length',
        'drop the Content-Length: trailers need a chunked body',
      );
    }
    this.response = Response.Started;
    this.statusCode = status;
    this.declaredLength = checked.contentLength;
    this.trailersDue = trailers === true;
    return materialized(message, 'headers', headers, checked.pairs);
  }

  private body(message: Message): void {
    if (this.response === Response.NotStarted) {
      throw this.fail(
        'response-body.before-start',
        'http.response.body was sent before http.response.start',
        'send http.response.start (status and headers) first',
      );
    }
    if (this.response === Response.BodyDone || this.response === Response.Complete) {
      throw this.fail(
        'response-body.after-end',
        'http.response.body was sent after the last body message (more_body false)',
        'set more_body: true on every body message but the last',
      );
    }
    const body = message.body;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw this.fail(
        'response-body.body',
        `http.response.body has the body ${show(body)}`,
        'send a Uint8Array or a string (sent as UTF-8)',
      );
    }
    const more = message.more_body;
    if (more !== undefined && typeof more !== 'boolean') {
      throw this.fail(
        'response-body.more-body',
        `http.response.body has more_body: ${show(more)}`,
        'set more_body to true or false (or leave it out for false)',
      );
    }
    if (this.declaredLength !== -1 && this.statusCode !== 204 && this.statusCode !== 304) {
      this.bytes += body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
      if (this.bytes > this.declaredLength) {
        throw this.fail(
          'response-body.content-length',
          `http.response.body takes the body to ${this.bytes} bytes, past the Content-Length of ${this.declaredLength}`,
          'announce the real length, or leave Content-Length out',
        );
      }
      // HEAD: the app may skip a body whose length it announced, as a GET would (§6, §10).
      if (more !== true && !this.isHead && this.bytes < this.declaredLength) {
        throw this.fail(
          'response-body.content-length',
          `the last http.response.body ends the body at ${this.bytes} bytes, short of the Content-Length of ${this.declaredLength}`,
          'announce the real length, or leave Content-Length out',
        );
      }
    }
    if (more === true) this.response = Response.Streaming;
    else this.response = this.trailersDue ? Response.BodyDone : Response.Complete;
  }

  private trailers(message: Message): Message {
    if (!this.trailersDue) {
      throw this.fail(
        'response-trailers.unannounced',
        'http.response.trailers was sent, but http.response.start did not set trailers: true',
        'set trailers: true in http.response.start (where scope.extensions allows it)',
      );
    }
    if (this.response !== Response.BodyDone) {
      throw this.fail(
        'response-trailers.order',
        this.response === Response.Complete ? 'http.response.trailers was sent after the last trailers (more_trailers false)' : 'http.response.trailers was sent before the last http.response.body',
        'send the body first, ending with more_body false, then the trailers',
      );
    }
    const headers = message.headers;
    const checked = headers === undefined ? { pairs: [], contentLength: -1 } : checkHeaders(
      headers,
      this.source('response-trailers', 'http.response.trailers'),
    );
    const more = message.more_trailers;
    if (more !== undefined && typeof more !== 'boolean') {
      throw this.fail(
        'response-trailers.more-trailers',
        `http.response.trailers has more_trailers: ${show(more)}`,
        'set more_trailers to true or false (or leave it out for false)',
      );
    }
    if (more !== true) this.response = Response.Complete;
    return materialized(message, 'headers', headers, checked.pairs);
  }

  sendFailed(): void {
    this.gone = true;
  }

  returned(): void {
    if (this.response === Response.Complete || this.gone) return;
    throw this.fail(
      'http.incomplete',
      this.response === Response.NotStarted || this.response === Response.Started
        ? 'the app returned without sending a whole response'
        : `the app returned before finishing its response (${this.response === Response.BodyDone ? 'trailers were still due' : 'the last body message had more_body true'})`,
      'send http.response.start, then http.response.body messages ending with more_body false (then the trailers, when announced)',
    );
  }
}

/**
 * `message` as the server should get it: the same object when `value` was an array, else a copy
 * carrying the pairs the validator read, since reading used up a one-shot iterable (a generator).
 */
export function materialized(message: Message, key: string, value: unknown, pairs: [string, string][]): Message {
  if (value === undefined || Array.isArray(value)) return message;
  return { ...message, [key]: pairs };
}
