/** Bridges between the two interfaces: gateway apps where event apps are expected, and back. */
export { gatewayToEvent, type GatewayToEventOptions } from './gateway-to-event.js';
export { eventToGateway } from './event-to-gateway.js';
