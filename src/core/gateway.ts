/**
 * The gateway core as an acceptor sees it: one `dispatch` per request. It builds the environ,
 * decides how the body reaches the app (none, buffered, streamed), runs the exchange, and asks
 * the transport for connection events only when the response outlives `dispatch`.
 */
import type { GatewayApp, InputMode } from '../spec/types.js';
import type { Logger } from '../server/logger.js';
import { applyForwarding, buildEnviron, type EnvironDefaults } from './environ.js';
import type { ExchangeReport } from './exchange-report.js';
import type { ProxyTrust } from './proxy.js';
import { framingProblem, hasBody, newFraming, type BodyFraming } from './framing.js';
import { createErrorStream } from './errors-stream.js';
import { Exchange } from './exchange.js';
import { RequestInput } from './input.js';
import { ResponseHeadCache } from './response-head.js';
import type { RequestHandler, RequestHead, Transport } from './transport.js';

export interface GatewayOptions {
  app: GatewayApp;
  logger: Logger;
  /** Largest body buffered for an app that does not stream its input. */
  maxBodySize: number;
  /** Put stack traces in 500 responses. */
  debug: boolean;
  /** Most header fields a request may carry (431 beyond). */
  limitRequestFields: number;
  /** Peers whose forwarding headers are believed (--proxy-headers); null: none are. */
  proxyTrust: ProxyTrust | null;
  /** The access log and metrics; null when neither is on. */
  report: ExchangeReport | null;
  /** `https` when the server speaks TLS. */
  urlScheme: 'http' | 'https';
  multiprocess: boolean;
}

/** What an exchange needs from its server; one per server, shared by every request. */
export interface GatewayRuntime {
  readonly app: GatewayApp;
  readonly logger: Logger;
  readonly maxBodySize: number;
  readonly debug: boolean;
  /** Validated response heads, shared by every exchange of this server. */
  readonly heads: ResponseHeadCache;
  /** The access log and metrics, told of every exchange's end; null when neither is on. */
  readonly report: ExchangeReport | null;
}

/**
 * How the app receives bodies: `app.tsgiInput` when set, otherwise `'stream'` for an
 * `async function` (it can await chunks) and `'buffered'` for anything else.
 */
export function inputModeOf(app: GatewayApp): InputMode {
  const declared = (app as { tsgiInput?: unknown }).tsgiInput;
  if (declared === 'stream' || declared === 'buffered') return declared;
  if (declared !== undefined) {
    throw new TypeError(`app.tsgiInput must be 'stream' or 'buffered'; got ${JSON.stringify(declared)}`);
  }
  const kind = app.constructor?.name;
  return kind === 'AsyncFunction' || kind === 'AsyncGeneratorFunction' ? 'stream' : 'buffered';
}

export class GatewayHandler implements RequestHandler, GatewayRuntime {
  readonly app: GatewayApp;
  readonly logger: Logger;
  readonly maxBodySize: number;
  readonly debug: boolean;
  readonly heads = new ResponseHeadCache();
  private readonly inputMode: InputMode;
  private readonly defaults: EnvironDefaults;
  /** Reused by every dispatch: environ building is synchronous. */
  private readonly framing: BodyFraming;
  private readonly proxyTrust: ProxyTrust | null;
  readonly report: ExchangeReport | null;

  constructor(options: GatewayOptions) {
    this.app = options.app;
    this.logger = options.logger;
    this.maxBodySize = options.maxBodySize;
    this.debug = options.debug;
    this.inputMode = inputModeOf(options.app);
    this.framing = newFraming(options.limitRequestFields);
    this.proxyTrust = options.proxyTrust;
    this.report = options.report;
    this.defaults = {
      serverName: '',
      serverPort: '',
      urlScheme: options.urlScheme,
      multiprocess: options.multiprocess,
      errors: createErrorStream(options.logger),
      emptyInput: RequestInput.empty(),
    };
  }

  /** SERVER_NAME and SERVER_PORT once the acceptor has bound (port 0 asks the OS for one; a unix socket has none). */
  setServerAddress(host: string, port: number | null): void {
    this.defaults.serverName = host;
    this.defaults.serverPort = port === null ? '' : String(port);
  }

  dispatch(head: RequestHead, transport: Transport): void {
    const framing = this.framing;
    const environ = buildEnviron(head, this.defaults, framing);
    if (framing.forwarding !== null && this.proxyTrust !== null) applyForwarding(environ, framing.forwarding, this.proxyTrust);
    const exchange = new Exchange(this, transport, environ, head.method === 'HEAD');
    // The access line is written after the response ended; settle a lazy REMOTE_ADDR first.
    if (this.report !== null) void environ.REMOTE_ADDR;
    const problem = framingProblem(framing, head.protocol);
    if (problem !== null) {
      // Whatever the backend's parser let through (uWS takes the first of several
      // Content-Length headers; none of them checks Host): refused before the app sees it.
      exchange.refuse(problem);
    } else if (!hasBody(framing)) {
      exchange.run();
    } else if (this.inputMode === 'stream') {
      const input = new RequestInput(exchange, 'stream', Infinity);
      exchange.input = input;
      environ['tsgi.input'] = input;
      transport.readBody(input);
      exchange.run();
    } else if (framing.contentLength > this.maxBodySize) {
      // Refused on the declared length alone, before a byte of the body is read.
      exchange.rejectOversizedBody();
    } else {
      const input = new RequestInput(exchange, 'buffered', this.maxBodySize);
      exchange.input = input;
      environ['tsgi.input'] = input;
      transport.readBody(input);
    }
    if (!exchange.finished) transport.watch(exchange);
  }
}
