/**
 * Event apps over websockets: one `app(scope, receive, send)` call per upgrade request, with the
 * ASGI websocket spec 2.5 semantics (docs/spec.md, websocket section). The scope is built while
 * the acceptor's request head is still valid; the connection's life is in `WebSocketSession`.
 */
import { framingProblem } from '../core/framing.js';
import { serverResponse } from '../core/server-responses.js';
import type { RequestHead } from '../core/transport.js';
import type { UpgradeHandler, WebSocketUpgrade } from '../core/websocket-transport.js';
import { callEventApp, type EventRuntime } from './runtime.js';
import { applyForwarding, buildWebSocketScope, newFacts, type RequestFacts } from './scope.js';
import { WebSocketSession } from './websocket-session.js';

export class EventWebSocketHandler implements UpgradeHandler {
  /** Reused by every upgrade: scope building is synchronous. */
  private readonly facts: RequestFacts;

  constructor(private readonly runtime: EventRuntime) {
    this.facts = newFacts(runtime.limitRequestFields);
  }

  upgrade(head: RequestHead, upgrade: WebSocketUpgrade): void {
    const scope = buildWebSocketScope(head, this.runtime.defaults, this.facts);
    if (this.facts.forwarding !== null && this.runtime.proxyTrust !== null) applyForwarding(scope, this.facts.forwarding, this.runtime.proxyTrust);
    const problem = framingProblem(this.facts, head.protocol);
    if (problem !== null) {
      // A handshake with a missing, repeated or malformed Host never reaches the app.
      const response = serverResponse(problem.status, problem.reason);
      this.runtime.logger.log('info', `GET ${scope.raw_path} (websocket): refused: ${problem.reason}`);
      upgrade.reject(response.head.status, response.head.headers, response.body);
      return;
    }
    const session = new WebSocketSession(this.runtime, scope, upgrade);
    upgrade.watch(session);
    callEventApp(this.runtime.app, scope, session.receive, session.send, session);
  }
}
