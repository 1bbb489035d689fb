/**
 * `tsgi/testing`: call an app in process, without a socket, and get standard `Response` objects.
 *
 *   const client = new TestClient(app);
 *   const response = await client.get('/hello?name=x');
 *   expect(await response.text()).toBe('Hello, x!');
 */
export { TestClient, type TestMethodInit } from './client.js';
export type { TestClientOptions, LifespanChoice } from './options.js';
export type { TestRequestInit, TestRequestBody, HeadersInit, BodyInit } from './request.js';
export type { CookieView, TestCookie } from './cookies.js';
export type { TestWebSocket, WebSocketOptions } from './websocket.js';
export { WebSocketClosed, WebSocketRefused, type WebSocketCloseInfo } from './errors.js';
export { LifespanError } from './lifespan.js';
export { trailersOf } from './trailers.js';
export { ContractViolation } from './contract.js';
/** What an event app's `send()` rejects with: a misuse of the protocol, or a client that left. */
export { DisconnectedError, ProtocolError } from '../event/runtime.js';
