/** What every event-app connection needs from its server; one per server, shared. */
import type { ExchangeReport } from '../core/exchange-report.js';
import type { ProxyTrust } from '../core/proxy.js';
import type { ResponseHeadCache } from '../core/response-head.js';
import type { Logger } from '../server/logger.js';
import type { EventApp, Receive, Scope, Send } from '../spec/event-types.js';
import type { ScopeDefaults } from './scope.js';

export interface EventRuntime {
  readonly app: EventApp;
  readonly logger: Logger;
  /** Put stack traces in 500 responses. */
  readonly debug: boolean;
  /** Validated response heads (http.response.start, websocket.accept headers). */
  readonly heads: ResponseHeadCache;
  readonly defaults: ScopeDefaults;
  /** Most header fields a request may carry (431 beyond). */
  readonly limitRequestFields: number;
  /** Peers whose forwarding headers are believed (--proxy-headers); null: none are. */
  readonly proxyTrust: ProxyTrust | null;
  /** The access log and metrics, told of every exchange's end; null when neither is on. */
  readonly report: ExchangeReport | null;
}

/**
 * A misuse of the event protocol by the app (wrong message order, unknown type, bad field): the
 * promise from `send()` rejects with it, and the server logs it.
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** `send()` on a connection the client has closed. */
export class DisconnectedError extends Error {
  override name = 'DisconnectedError';
}

/** Learns how one call of the app ended. */
export interface AppCallOutcome {
  appReturned(): void;
  appFailed(error: unknown): void;
}

/**
 * Calls an event app and reports how the call ended: a throw or a rejection is `appFailed`, a
 * settled promise (or a plain return, from a function that is not async) is `appReturned`.
 */
export function callEventApp(app: EventApp, scope: Scope, receive: Receive, send: Send, outcome: AppCallOutcome): void {
  let result: unknown;
  try {
    result = app(scope, receive, send);
  } catch (error) {
    outcome.appFailed(error);
    return;
  }
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(
      () => outcome.appReturned(),
      (error: unknown) => outcome.appFailed(error),
    );
  } else {
    outcome.appReturned();
  }
}

/** The message's `type`, checked: every message is an object with a string `type`. */
export function messageType(message: unknown, channel: string): string {
  if (message === null || typeof message !== 'object' || typeof (message as { type?: unknown }).type !== 'string') {
    throw new ProtocolError(`${channel}() takes a message object with a string "type"; got ${message === null ? 'null' : typeof message}`);
  }
  return (message as { type: string }).type;
}
