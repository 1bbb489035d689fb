/** The uws backend: uWebSockets.js, a native C++ HTTP stack (opt-in). */
import { DEFAULT_BACKLOG, DEFAULT_LIMIT_REQUEST_FIELDS, DEFAULT_TIMEOUT_BODY, DEFAULT_TIMEOUT_HEAD, DEFAULT_TIMEOUT_KEEP_ALIVE } from '../../spec/constants.js';
import type { Backend } from '../types.js';
import { loadUws, UwsAcceptor } from './acceptor.js';

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

/** uWS v20 refuses a head with more header fields than this (its own 431), whatever tsgi's limit. */
export const UWS_MAX_FIELDS = 98;

export const uws = {
  name: 'uws',
  label: 'uWebSockets.js',
  summary:
    'uWebSockets.js v20 (uws-pack): fast, but its parser answers HTTP/1.0 and split request lines with 505, ' +
    'closes pipelined connections behind slow responses and leaves malformed requests unanswered; ' +
    'the official builds from its GitHub releases fix the parser where glibc allows them.',
  auto: false,
  traits: {
    trailers: false,
    peerPort: false,
    latin1Headers: false,
    keepsAppDate: false,
    http10: false,
    pipelinesAsync: false,
    continueOnDemand: false,
    answersMalformed: false,
    webSocketPause: false,
    webSocketCloseFrames: false,
    timeouts: false,
    servesOtherUpgrades: true,
    sharedAcceptQueue: false,
    alpn: false,
    requiredClientCerts: false,
    connectionLimits: false,
    requestFieldsCap: UWS_MAX_FIELDS,
    proxyProtocol: false,
    countsConnections: false,
  },
  async open(options, log) {
    // uWS closes a connection idle for about 10 s, whatever the state; it has no other timers.
    const { keepAlive, head, body } = options.timeouts;
    if (keepAlive !== DEFAULT_TIMEOUT_KEEP_ALIVE || head !== DEFAULT_TIMEOUT_HEAD || body !== DEFAULT_TIMEOUT_BODY) {
      throw new Error(
        'uWebSockets.js has one fixed idle timeout (about 10 s) and cannot apply --timeout-keep-alive, ' +
          '--timeout-head or --timeout-body; use --backend llhttp or --backend node to set them',
      );
    }
    if (options.proxyProtocol) {
      throw new Error(
        'uWebSockets.js cannot require a PROXY protocol header on every connection (--proxy-protocol); use --backend llhttp or --backend node',
      );
    }
    if (options.maxRequestsPerConnection !== 0) {
      throw new Error('uWebSockets.js does not let tsgi count requests per connection (--max-requests-per-connection); use --backend llhttp or --backend node');
    }
    if (options.backlog !== DEFAULT_BACKLOG) {
      throw new Error(`uWebSockets.js always asks for an accept queue of 512 and cannot apply --backlog ${options.backlog}; use --backend llhttp or --backend node`);
    }
    if (options.limitRequestFields > UWS_MAX_FIELDS && options.limitRequestFields !== DEFAULT_LIMIT_REQUEST_FIELDS) {
      throw new Error(
        `uWebSockets.js answers 431 past ${UWS_MAX_FIELDS} header fields whatever tsgi asks, so --limit-request-fields ` +
          `${options.limitRequestFields} cannot hold; use at most ${UWS_MAX_FIELDS}, or --backend llhttp or --backend node`,
      );
    }
    if (options.tls?.requestCert === true && options.tls.certReqs === 'required') {
      throw new Error(
        'uWebSockets.js verifies a client certificate only when the client sends one and cannot require it ' +
          '(--cert-reqs required); use --backend llhttp or --backend node',
      );
    }
    let module;
    try {
      module = await loadUws(options.maxHeaderSize);
    } catch (error) {
      throw new Error(
        `uWebSockets.js did not load (${firstLine(error)}). Install it ` +
          `(npm install uWebSockets.js@npm:uws-pack@20.0.8) or use another backend.`,
      );
    }
    const effective = process.env.UWS_HTTP_MAX_HEADERS_SIZE;
    if (effective !== String(options.maxHeaderSize)) {
      log.warning(
        `uWebSockets.js uses a header limit of ${effective} bytes (UWS_HTTP_MAX_HEADERS_SIZE, fixed when it ` +
          `first loaded in this process), not the ${options.maxHeaderSize} asked for`,
      );
    }
    return new UwsAcceptor(module, options, log);
  },
  async probe() {
    try {
      await loadUws(16 * 1024);
      return null;
    } catch (error) {
      return `uWebSockets.js did not load: ${firstLine(error)}`;
    }
  },
} as const satisfies Backend<'uws'>;
