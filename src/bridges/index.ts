/** Bridges between the two interfaces: gateway apps where event apps are expected, and back. */
export { gatewayToEvent, type GatewayToEventOptions } from './gateway-to-event.js';
export { eventToGateway } from './event-to-gateway.js';
export { toNodeHandler, type TsgiNodeHandler, type ToNodeHandlerOptions } from './to-node-handler.js';
export { toFetch, type TsgiFetchHandler, type ToFetchOptions } from './to-fetch.js';
export type { LifespanControl, HostOptions } from './host/app.js';
export type { HostErrorHandler } from './host/report.js';
