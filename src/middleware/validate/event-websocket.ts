/**
 * A websocket connection of an event app (docs/spec.md §11): the order and fields of the messages
 * the server yields, and of the messages the app sends.
 */
import { materialized } from './event-http.js';
import type { Message, Session } from './session.js';
import { checkHeaders } from './syntax.js';
import { show, type Report } from './violation.js';

const enum App {
  /** Neither accepted nor refused yet. */
  Deciding,
  Accepted,
  /** websocket.close sent (a refusal before accepting, or a close after). */
  Closed,
}

const enum Incoming {
  /** websocket.connect not yet yielded. */
  Connecting,
  Connected,
  Disconnected,
}

export class WebSocketSession implements Session {
  private app = App.Deciding;
  private incoming = Incoming.Connecting;
  private gone = false;
  private readonly offered: readonly string[];

  constructor(
    private readonly report: Report,
    scope: Record<string, unknown>,
  ) {
    this.offered = scope.subprotocols as string[];
  }

  // --- the server's side ----------------------------------------------------------------------

  received(message: Message): void {
    const fail = (rule: string, problem: string, fix: string) => this.report(rule, '§11', 'server', problem, fix);
    const type = message.type;
    if (type !== 'websocket.connect' && type !== 'websocket.receive' && type !== 'websocket.disconnect') {
      throw fail(
        'receive.type',
        `receive() yielded a ${show(type)} message on a websocket connection`,
        'yield websocket.connect, websocket.receive or websocket.disconnect',
      );
    }
    if (this.incoming === Incoming.Disconnected && type !== 'websocket.disconnect') {
      throw fail(
        'receive.order',
        `receive() yielded ${type} after websocket.disconnect`,
        'after websocket.disconnect, yield only websocket.disconnect',
      );
    }
    if (this.incoming === Incoming.Connecting && type !== 'websocket.connect') {
      throw fail('receive.order', `receive() yielded ${type} before websocket.connect`, 'yield websocket.connect first');
    }
    if (type === 'websocket.connect') {
      if (this.incoming !== Incoming.Connecting) {
        throw fail('receive.order', 'receive() yielded websocket.connect a second time', 'yield it once, first');
      }
      this.incoming = Incoming.Connected;
      return;
    }
    if (type === 'websocket.receive') {
      if (this.app !== App.Accepted && this.app !== App.Closed) {
        throw fail(
          'receive.order',
          'receive() yielded websocket.receive before the app accepted the connection',
          'deliver client messages only after websocket.accept',
        );
      }
      const hasText = message.text !== undefined && message.text !== null;
      const hasBytes = message.bytes !== undefined && message.bytes !== null;
      if (hasText === hasBytes || (hasText && typeof message.text !== 'string') || (hasBytes && !(message.bytes instanceof Uint8Array))) {
        throw fail(
          'receive.websocket-receive',
          `websocket.receive has text ${show(message.text)} and bytes ${show(message.bytes)}`,
          'set exactly one: text (a string) for a text message, bytes (a Uint8Array) for a binary one',
        );
      }
      return;
    }
    if (typeof message.code !== 'number' || !Number.isInteger(message.code) || typeof message.reason !== 'string') {
      throw fail(
        'receive.websocket-disconnect',
        `websocket.disconnect has code ${show(message.code)} and reason ${show(message.reason)}`,
        "give the close code as an integer (1006 when the client vanished) and the reason as a string ('' for none)",
      );
    }
    this.incoming = Incoming.Disconnected;
    this.gone = true;
  }

  // --- the app's side -------------------------------------------------------------------------

  private fail(rule: string, problem: string, fix: string) {
    return this.report(rule, '§11', 'app', problem, fix);
  }

  sending(message: Message): Message {
    const type = message.type;
    if (type !== 'websocket.accept' && type !== 'websocket.send' && type !== 'websocket.close') {
      throw this.fail(
        'send.type',
        `send() got a ${show(type)} message on a websocket connection`,
        'send websocket.accept, websocket.send or websocket.close',
      );
    }
    if (this.app === App.Closed) {
      throw this.fail(
        'websocket.after-close',
        `${type} was sent after websocket.close`,
        'send nothing after closing (or refusing) the connection',
      );
    }
    if (type === 'websocket.accept') return this.accept(message);
    if (type === 'websocket.send') {
      if (this.app === App.Deciding) {
        throw this.fail(
          'websocket-send.before-accept',
          'websocket.send was sent before websocket.accept',
          'accept the connection first (or send websocket.close to refuse it)',
        );
      }
      const { text, bytes } = message;
      const hasText = text !== undefined && text !== null;
      const hasBytes = bytes !== undefined && bytes !== null;
      if (hasText === hasBytes || (hasText && typeof text !== 'string') || (hasBytes && !(bytes instanceof Uint8Array))) {
        throw this.fail(
          'websocket-send.payload',
          `websocket.send has text ${show(text)} and bytes ${show(bytes)}`,
          'set exactly one: text (a string) or bytes (a Uint8Array)',
        );
      }
      return message;
    }
    const { code, reason } = message;
    if ((code !== undefined && (typeof code !== 'number' || !Number.isInteger(code))) || (reason !== undefined && typeof reason !== 'string')) {
      throw this.fail(
        'websocket-close.fields',
        `websocket.close has code ${show(code)} and reason ${show(reason)}`,
        'give code as an integer (1000 when omitted) and reason as a string',
      );
    }
    this.app = App.Closed;
    return message;
  }

  private accept(message: Message): Message {
    if (this.app === App.Accepted) {
      throw this.fail('websocket-accept.twice', 'websocket.accept was sent a second time', 'accept once');
    }
    const subprotocol = message.subprotocol;
    if (subprotocol !== undefined && subprotocol !== null && (typeof subprotocol !== 'string' || !this.offered.includes(subprotocol))) {
      throw this.fail(
        'websocket-accept.subprotocol',
        `websocket.accept chose the subprotocol ${show(subprotocol)}, which the client did not offer (scope.subprotocols: ${JSON.stringify(this.offered)})`,
        'choose one of scope.subprotocols, or leave subprotocol out',
      );
    }
    const headers = message.headers;
    const source = { report: this.report, rule: 'websocket-accept', section: '§11', origin: 'websocket.accept', allowBytes: true };
    const pairs = headers === undefined ? [] : checkHeaders(headers, source).pairs;
    this.app = App.Accepted;
    return materialized(message, 'headers', headers, pairs);
  }

  sendFailed(): void {
    this.gone = true;
  }

  returned(): void {
    if (this.app !== App.Deciding || this.gone) return;
    throw this.fail(
      'websocket.incomplete',
      'the app returned without accepting or refusing the websocket connection (the client gets a 500)',
      'send websocket.accept to accept it, or websocket.close to refuse it (403)',
    );
  }
}
