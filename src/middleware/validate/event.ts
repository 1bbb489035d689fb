/**
 * `validate()` for event apps (docs/spec.md §9–§12): the scope is checked before the app runs;
 * `receive()` and `send()` are replaced by checking versions that forward every message as it
 * comes, one for one (no queueing, so the server's backpressure holds). A bad message from the
 * server rejects the app's `receive()`; a bad one from the app rejects its `send()` and is not
 * forwarded.
 */
import type { EventApp, Receive, ReceiveMessage, Send, SendMessage } from '../../spec/event-types.js';
import { isPromiseLike } from '../shared/body.js';
import { HttpSession } from './event-http.js';
import { LifespanSession } from './event-lifespan.js';
import { WebSocketSession } from './event-websocket.js';
import { checkScope } from './scope.js';
import type { Message, Session } from './session.js';
import { show, type Report, type Side } from './violation.js';

export function validateEvent(app: EventApp, report: Report): EventApp {
  return async (scope, receive, send) => {
    checkScope(scope, receive, send, report);
    const record = scope as unknown as Record<string, unknown>;
    const session: Session =
      scope.type === 'http'
        ? new HttpSession(report, record)
        : scope.type === 'websocket'
          ? new WebSocketSession(report, record)
          : new LifespanSession(report);

    const checkedReceive: Receive = () => {
      const pending: unknown = receive();
      if (!isPromiseLike(pending)) {
        return Promise.reject(report(
          'receive.promise',
          '§9',
          'server',
          `receive() returned ${show(pending)}, not a promise`,
          'return a promise of the next message',
        ));
      }
      return Promise.resolve(pending).then((message) => {
        session.received(typed(message, 'server', 'receive.message', 'receive() yielded', report));
        return message as ReceiveMessage;
      });
    };

    const checkedSend: Send = (message) => {
      let forwarded: Message;
      try {
        forwarded = session.sending(typed(message, 'app', 'send.message', 'send() got', report));
      } catch (violation) {
        return Promise.reject(violation);
      }
      const pending: unknown = send(forwarded as unknown as SendMessage);
      if (!isPromiseLike(pending)) {
        return Promise.reject(report(
          'send.promise',
          '§9',
          'server',
          `send() returned ${show(pending)}, not a promise`,
          'return a promise that settles when the message was handled',
        ));
      }
      return Promise.resolve(pending).then(
        () => undefined,
        (error: unknown) => {
          session.sendFailed();
          throw error;
        },
      );
    };

    await app(scope, checkedReceive, checkedSend);
    session.returned();
  };
}

/** `message` as a message: an object with a string `type` (§9). */
function typed(message: unknown, side: Side, rule: string, what: string, report: Report): Message {
  if (message === null || typeof message !== 'object' || typeof (message as { type?: unknown }).type !== 'string') {
    throw report(
      rule,
      '§9',
      side,
      `${what} ${show(message)}, not a message object with a string type`,
      'use a plain object such as { type: ... }',
    );
  }
  return message as Message;
}
