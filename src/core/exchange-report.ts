/**
 * What happens when an exchange ends, besides the response: one access-log line in the
 * configured format, and the metrics' request count, duration and bytes. Both the gateway's
 * exchanges and event apps' calls (and their websockets) report here through the wire. When
 * neither is on there is no report at all, and exchanges do not even read the clock.
 */
import type { ServerMetrics } from '../metrics/server-metrics.js';
import type { HeaderPair } from '../spec/types.js';
import type { AccessEntry, AccessFormatter } from './access-log.js';

/** What the report reads of an ended exchange (its wire's owner). */
export interface ReportedExchange {
  /** The client (after proxy headers). */
  clientAddress(): string;
  /** The client's port, '' when unknown. */
  clientPort(): string;
  readonly requestMethod: string;
  readonly requestRawPath: string;
  readonly requestQuery: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  readonly requestProtocol: string;
  /** A request header by lower-case name (repeated ones joined with ', '). */
  requestHeader(lowerName: string): string | undefined;
  /** performance.now() when the exchange began (0 when no report is kept). */
  readonly startedAt: number;
  /** Request body bytes received. */
  readonly bytesReceived: number;
}

export interface AccessOutput {
  readonly format: AccessFormatter;
  write(line: string): void;
}

export class ExchangeReport {
  constructor(
    private readonly access: AccessOutput | null,
    private readonly metrics: ServerMetrics | null,
  ) {}

  /** null when there is nothing to report (no access log, no metrics). */
  static create(access: AccessOutput | null, metrics: ServerMetrics | null): ExchangeReport | null {
    return access === null && metrics === null ? null : new ExchangeReport(access, metrics);
  }

  /** An exchange began (the in-flight gauge); every one that begins ends through `ended`. */
  started(): void {
    this.metrics?.requestStarted();
  }

  /** An exchange ended: `status` 0 when none was sent, `headers` those of the response sent (if any). */
  ended(exchange: ReportedExchange, status: number, bytes: number, headers: readonly HeaderPair[] | null): void {
    const durationMs = performance.now() - exchange.startedAt;
    const metrics = this.metrics;
    if (metrics !== null) {
      metrics.requestEnded(exchange.requestMethod, status, durationMs / 1000, bytes);
      metrics.bytesIn(exchange.bytesReceived);
    }
    const access = this.access;
    if (access !== null) access.write(access.format(new EndedExchange(exchange, status, bytes, headers, durationMs)));
  }

  /** A websocket session began (for the open-sessions gauge); it ends through `ended` with status 101. */
  webSocketOpened(): void {
    this.metrics?.webSocketOpened();
  }

  webSocketClosed(): void {
    this.metrics?.webSocketClosed();
  }
}

/** One ended exchange as the access-log formatter reads it. */
class EndedExchange implements AccessEntry {
  readonly remoteAddress: string;
  readonly remotePort: string;
  readonly method: string;
  readonly rawPath: string;
  readonly query: string;
  readonly protocol: string;
  readonly durationMicros: number;
  readonly startMs: number;
  readonly pid = process.pid;

  constructor(
    private readonly exchange: ReportedExchange,
    readonly status: number,
    readonly bytes: number,
    private readonly headers: readonly HeaderPair[] | null,
    durationMs: number,
  ) {
    this.remoteAddress = exchange.clientAddress();
    this.remotePort = exchange.clientPort();
    this.method = exchange.requestMethod;
    this.rawPath = exchange.requestRawPath;
    this.query = exchange.requestQuery;
    this.protocol = exchange.requestProtocol;
    this.durationMicros = Math.round(durationMs * 1000);
    this.startMs = Date.now() - durationMs;
  }

  requestHeader(lowerName: string): string | undefined {
    return this.exchange.requestHeader(lowerName);
  }

  responseHeader(lowerName: string): string | undefined {
    if (this.headers === null) return undefined;
    let found: string | undefined;
    for (const [name, value] of this.headers) {
      if (name.length === lowerName.length && name.toLowerCase() === lowerName) found = found === undefined ? value : `${found}, ${value}`;
    }
    return found;
  }
}
