/** The node backend: Node's http module, the most compatible fallback. */
import type { Backend } from '../types.js';
import { NodeAcceptor } from './acceptor.js';

export const node = {
  name: 'node',
  label: 'node:http',
  summary: "Node's http module: the most compatible, and the slowest (IncomingMessage and ServerResponse per request).",
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
    servesOtherUpgrades: false,
    sharedAcceptQueue: true,
    alpn: true,
    requiredClientCerts: true,
    connectionLimits: true,
    requestFieldsCap: null,
    proxyProtocol: true,
    countsConnections: true,
  },
  async open(options, log) {
    return new NodeAcceptor(options, log);
  },
  async probe() {
    return null;
  },
} as const satisfies Backend<'node'>;
