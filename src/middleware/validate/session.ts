/** What the event wrapper asks of each scope type's rules (http, websocket, lifespan). */
export type Message = Record<string, unknown> & { type: string };

export interface Session {
  /** Checks a message the server's `receive()` produced; throws a violation of the server's side. */
  received(message: Message): void;
  /** Checks a message the app passes to `send()`; returns what to forward (the same message, or a copy with an iterable materialized). */
  sending(message: Message): Message;
  /** The server's `send()` rejected (the client left, or it refused what the validator let through). */
  sendFailed(): void;
  /** The app's call returned normally: throws when it left the exchange unfinished. */
  returned(): void;
}
