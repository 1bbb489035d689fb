/** The llhttp backend: Node's own C parser on raw sockets (the default). */
import type { Backend } from '../types.js';
import { LlhttpAcceptor } from './acceptor.js';
import { loadLlhttp } from './binding.js';

export const llhttp = {
  name: 'llhttp',
  label: "Node's llhttp parser on raw sockets",
  summary:
    "Node's own llhttp parser fed straight from each socket, with tsgi's HTTP/1.1 writer: correct on every " +
    'Node version, and close to uWebSockets.js in speed.',
  auto: true,
  traits: {
    trailers: true,
    peerPort: true,
    latin1Headers: true,
    keepsAppDate: true,
    http10: true,
    pipelinesAsync: true,
    continueOnDemand: true,
    answersMalformed: true,
    webSocketPause: true,
    webSocketCloseFrames: true,
    timeouts: true,
    servesOtherUpgrades: true,
    sharedAcceptQueue: true,
    alpn: true,
    requiredClientCerts: true,
    connectionLimits: true,
    requestFieldsCap: null,
    proxyProtocol: true,
    countsConnections: true,
  },
  async open(options, log) {
    return new LlhttpAcceptor(loadLlhttp(), options, log);
  },
  async probe() {
    try {
      loadLlhttp();
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  },
} as const satisfies Backend<'llhttp'>;
