/** tsgi's public API: the gateway contract's types and the server. */
export type * from './spec/types.js';
export { TSGI_VERSION, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_HEADER_SIZE } from './spec/constants.js';
export { serve, type Server } from './server/serve.js';
export type { ServeOptions, BackendChoice } from './server/config.js';
export type { BackendName } from './acceptors/registry.js';
export type { BackendTraits } from './acceptors/types.js';
export type { LogLevel } from './server/logger.js';
export type * from './spec/event-types.js';
export { defineEventApp, type AppInterface, type InterfaceChoice } from './event/interface.js';
export type { LifespanMode } from './server/config.js';
export { run, type RunOptions, type Supervision } from './supervisor/run.js';
export type { Hooks, ServerInfo, ReadyInfo, WorkerExitInfo } from './settings/hooks.js';
export type { Settings } from './settings/table.js';
export { gatewayToEvent, eventToGateway, type GatewayToEventOptions } from './bridges/index.js';
export { fromFetch, defineFetchApp, type FetchHandler, type FetchFunction, type FetchContext, type FromFetchOptions } from './bridges/from-fetch.js';
export { fromNodeHandler, isNodeHandler, type NodeHandler, type NodeListener, type NodeListenerFactory } from './bridges/from-node-handler.js';
export { toNodeHandler, toFetch, type TsgiNodeHandler, type ToNodeHandlerOptions, type TsgiFetchHandler, type ToFetchOptions, type LifespanControl, type HostOptions, type HostErrorHandler } from './bridges/index.js';
