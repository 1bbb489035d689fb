/**
 * One request on an llhttp connection, from its parsed head until its response is over: the
 * `RequestHead` the core reads, and its body on the way to the core. Body bytes that arrive
 * before the core asks for them (a request pipelined behind another) wait here.
 */
import type { BodyReceiver, HeaderVisitor, RequestHead } from '../../core/transport.js';
import { splitTarget } from '../target.js';
import type { LlhttpTransport } from './transport.js';

const EMPTY = new Uint8Array(0);

/** What a request tells its connection about its body. */
export interface BodyAccounting {
  /** Body bytes now waiting in requests that were not dispatched yet changed by `delta`. */
  queuedBodyChanged(delta: number): void;
  /** A body chunk reached the core: the stall timer starts over. */
  bodyArrived(request: LlhttpRequest): void;
  /** The core wants the body of a request that expects `100 Continue`. */
  continueWanted(request: LlhttpRequest): void;
}

export class LlhttpRequest implements RequestHead {
  rawPath = '';
  query = '';
  readonly peer = null;
  /** The exchange answering this request, once it was handed to the core. */
  transport: LlhttpTransport | null = null;
  /** Where body chunks go once the core asked for them. */
  private receiver: BodyReceiver | null = null;
  /** Chunks that arrived before the core asked, and their size. */
  private pending: Uint8Array[] | null = null;
  private pendingBytes = 0;
  bodyComplete: boolean;
  /** The response is over: the rest of the body is read and dropped. */
  discarding = false;
  /** Body bytes received so far. */
  received = 0;
  /** A websocket handshake that the connection hands to the `ws` package on its turn. */
  upgrade = false;
  /** The `Upgrade` header's value, `''` when absent. */
  upgradeTo = '';
  /** `Expect: 100-continue` on a request with a body; `continueSent` once it was answered. */
  expectsContinue = false;
  continueSent = false;

  constructor(
    private readonly owner: BodyAccounting,
    readonly method: string,
    url: string,
    /** `HTTP/1.1` or `HTTP/1.0`. */
    readonly protocol: string,
    /** The client allows the connection to stay open after this response (llhttp's verdict). */
    readonly keepAlive: boolean,
    /** Lower-cased names and values as received, flat: name0, value0, name1, … */
    readonly headers: string[],
    /** Content-Length, or -1 (none, or chunked). */
    readonly contentLength: number,
    chunked: boolean,
    readonly remoteAddress: string,
    readonly remotePort: string,
  ) {
    splitTarget(this, url);
    this.bodyComplete = !chunked && contentLength <= 0;
  }

  get http10(): boolean {
    return this.protocol === 'HTTP/1.0';
  }

  /** Body bytes still to come, or -1 when unknown (chunked). */
  get remainingBody(): number {
    if (this.bodyComplete) return 0;
    return this.contentLength === -1 ? -1 : this.contentLength - this.received;
  }

  forEachHeader(visit: HeaderVisitor): void {
    const headers = this.headers;
    for (let i = 0; i < headers.length; i += 2) visit(headers[i]!, headers[i + 1]!);
  }

  /** The core asks for the body: what waited is delivered now, the rest as it arrives. */
  attach(receiver: BodyReceiver): void {
    this.receiver = receiver;
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      this.owner.queuedBodyChanged(-this.pendingBytes);
      this.pendingBytes = 0;
      for (const chunk of pending) receiver.onBodyChunk(chunk, false);
    }
    if (this.bodyComplete) receiver.onBodyChunk(EMPTY, true);
    else if (this.expectsContinue && !this.continueSent) this.owner.continueWanted(this);
  }

  get reading(): boolean {
    return this.receiver !== null && !this.bodyComplete && !this.discarding;
  }

  /** A body chunk from the parser (a copy: the request may keep it). */
  onBody(chunk: Uint8Array): void {
    this.received += chunk.byteLength;
    if (this.discarding) return;
    const receiver = this.receiver;
    if (receiver !== null) {
      this.owner.bodyArrived(this);
      receiver.onBodyChunk(chunk, false);
      return;
    }
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.byteLength;
    this.owner.queuedBodyChanged(chunk.byteLength);
  }

  onBodyEnd(): void {
    this.bodyComplete = true;
    if (!this.discarding) this.receiver?.onBodyChunk(EMPTY, true);
  }

  /** The response is over, or the request will never be answered: drop what waits and what comes. */
  discard(): void {
    this.discarding = true;
    this.receiver = null;
    if (this.pending !== null) {
      this.pending = null;
      this.owner.queuedBodyChanged(-this.pendingBytes);
      this.pendingBytes = 0;
    }
  }
}

/** Why a head is refused before it becomes a request. */
export interface HeadRefusal {
  status: number;
  detail: string;
}

/**
 * Reads what the backend itself must know of a parsed head (framing, Expect, Upgrade), lower-
 * casing the header names in place for the core, and refuses what must stop the parser at once:
 * CONNECT (501) and expectations other than 100-continue (417). Versions, Host and the framing
 * rules are the core's, for every backend (core/framing.ts).
 */
export function readHead(
  owner: BodyAccounting,
  major: number,
  minor: number,
  headers: string[],
  method: string,
  url: string,
  keepAlive: boolean,
  remoteAddress: string,
  remotePort: string,
): LlhttpRequest | HeadRefusal {
  // RFC 9112 §2.3: a later 1.x minor version is served as HTTP/1.1; the core refuses other
  // major versions with the version as sent.
  const http10 = major === 1 && minor === 0;
  const protocol = major !== 1 ? `HTTP/${major}.${minor}` : http10 ? 'HTTP/1.0' : 'HTTP/1.1';
  let contentLength = -1;
  let chunked = false;
  let expect: string | null = null;
  let upgradeTo = '';
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    headers[i] = name;
    switch (name) {
      case 'content-length':
        // llhttp has refused a malformed or repeated one.
        contentLength = Number(headers[i + 1]);
        break;
      case 'transfer-encoding':
        // The core refuses codings other than chunked alone.
        chunked = true;
        break;
      case 'expect':
        expect = headers[i + 1]!;
        break;
      case 'upgrade':
        upgradeTo = headers[i + 1]!;
        break;
    }
  }
  if (method === 'CONNECT') return { status: 501, detail: 'CONNECT is for proxies; this server only serves its own resources' };
  if (expect !== null && expect.toLowerCase() !== '100-continue') {
    return { status: 417, detail: `the expectation ${JSON.stringify(expect)} cannot be met; only 100-continue is supported` };
  }
  const request = new LlhttpRequest(owner, method, url, protocol, keepAlive, headers, chunked ? -1 : contentLength, chunked, remoteAddress, remotePort);
  request.expectsContinue = expect !== null && !request.bodyComplete && !http10;
  request.upgradeTo = upgradeTo;
  return request;
}
