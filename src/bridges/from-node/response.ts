/**
 * `res` for a Node request listener: a real `http.ServerResponse` (frameworks swap its prototype
 * for one that inherits from ServerResponse's), writing into the bridge socket. Node serialises
 * the head into `_header` in `_storeHeader`; the response keeps Node's every rule for building it
 * (writeHead with objects or arrays, setHeader, implicit heads, HEAD/204/304), and an own
 * `_storeHeader` (which survives the prototype swap) hands the head to tsgi instead of the socket.
 * The body is then written raw: tsgi, not Node, frames it (Content-Length or chunked).
 */
import { IncomingMessage, OutgoingMessage, ServerResponse } from 'node:http';
import { HOP_BY_HOP_HEADERS } from '../../spec/constants.js';
import type { BridgeSocket } from './socket.js';

export interface ResponseHead {
  status: number;
  headers: [string, string][];
  /**
   * Node would have sent trailers after this body (res.addTrailers): the head declares them with
   * a `Trailer` field and the body has no Content-Length (Node chose chunked framing for it).
   */
  trailers: boolean;
}

type StoreHeader = (this: ServerResponse, firstLine: string, headers: unknown) => void;
const nodeStoreHeader = (OutgoingMessage.prototype as unknown as { _storeHeader: StoreHeader })._storeHeader;

/** Who hears the head Node built. */
export interface HeadSink {
  onHead(head: ResponseHead): void;
}

const HEAD_SINK = Symbol('tsgi.headSink');
type Internals = { _storeHeader: StoreHeader; _header: string; _headerSent: boolean; chunkedEncoding: boolean; [HEAD_SINK]: HeadSink };

/** Where Node keeps what setHeader() was given: `{ lowercased name: [name as set, value] }`. */
const OUT_HEADERS = outHeadersSymbol();
type OutHeaders = Record<string, [string, unknown]>;

/**
 * The head goes to tsgi instead of the socket. One shared function (an own property of each
 * response, which survives the prototype swap) that finds its sink on the response.
 *
 * Fields that came through setHeader() (Express, and every implicit head) are already validated
 * and are all Node's `_storeHeader` would write, less what it adds for framing and connection
 * management, which tsgi does itself: they go to tsgi as they are, and Node's text of the head is
 * built only as the record `res._header` keeps. Anything else (writeHead with a header object or
 * array, or trailers, whose framing is Node's decision) goes through Node's own `_storeHeader`
 * first, so its rules and its errors hold.
 */
function storeHeader(this: ServerResponse, firstLine: string, headers: unknown): void {
  const self = this as unknown as Internals;
  const fromSetHeader = OUT_HEADERS !== null && headers === (this as unknown as Record<symbol, unknown>)[OUT_HEADERS];
  let head = fromSetHeader ? headFromSetHeaders(this, firstLine, headers as OutHeaders) : null;
  if (head === null) {
    nodeStoreHeader.call(this, firstLine, headers);
    head = headFromArgument(this, headers) ?? parseHead(self._header);
    // Node writes `_trailer` only into a chunked body, so the trailers need Node's choice of it.
    head.trailers &&= self.chunkedEncoding;
  }
  self[HEAD_SINK].onHead(head);
  // The head is tsgi's to send, and the body's framing too: Node writes only the body bytes.
  self._headerSent = true;
  self.chunkedEncoding = false;
}

export function bridgedResponse(req: IncomingMessage, socket: BridgeSocket, sink: HeadSink): ServerResponse {
  const res = new ServerResponse(req);
  // tsgi writes Date itself (cached once a second), and a second one would be a duplicate.
  res.sendDate = false;
  const internals = res as unknown as Internals;
  internals[HEAD_SINK] = sink;
  internals._storeHeader = storeHeader;
  res.assignSocket(socket as never);
  return res;
}

/** The status and fields of a head Node serialised (`HTTP/1.1 200 OK\r\nName: value\r\n…\r\n\r\n`). */
export function parseHead(text: string): ResponseHead {
  const status = Number(text.slice(9, 12));
  const headers: [string, string][] = [];
  let trailers = false;
  for (const field of parseFields(text, text.indexOf('\r\n') + 2)) {
    if (keepField(headers, field[0].toLowerCase(), field[0], field[1])) trailers = true;
  }
  return { status, headers, trailers };
}

/**
 * The head from setHeader()'s fields, without Node's `_storeHeader` (see storeHeader); null for
 * a head that announces trailers. Node's rules for the lines: one per value of a list, except
 * `Cookie`, joined with `; `.
 */
function headFromSetHeaders(res: ServerResponse, firstLine: string, set: OutHeaders): ResponseHead | null {
  const headers: [string, string][] = [];
  let text = firstLine;
  for (const key in set) {
    if (key === 'trailer') return null;
    const entry = set[key]!;
    const name = entry[0];
    const value = entry[1];
    if (Array.isArray(value) && (value.length < 2 || key !== 'cookie')) {
      for (const item of value) {
        const line = String(item);
        text += name + ': ' + line + '\r\n';
        keepField(headers, key, name, line);
      }
    } else {
      const line = Array.isArray(value) ? value.join('; ') : String(value);
      text += name + ': ' + line + '\r\n';
      keepField(headers, key, name, line);
    }
  }
  (res as unknown as Internals)._header = text + '\r\n';
  return { status: res.statusCode, headers, trailers: false };
}

/**
 * The head from what Node's `_storeHeader` was given when it was not setHeader()'s record: none,
 * or writeHead()'s object, without reading back the text Node built. Header arrays and values
 * other than strings and numbers (lists are one line each in Node's text) are left to parseHead
 * (null), so the result is always the fields of Node's own head, less the ones tsgi frames itself.
 */
function headFromArgument(res: ServerResponse, given: unknown): ResponseHead | null {
  const status = res.statusCode;
  if (given === null || given === undefined) return { status, headers: [], trailers: false };
  if (typeof given !== 'object' || Array.isArray(given)) return null;
  const headers: [string, string][] = [];
  let trailers = false;
  for (const key in given) {
    if (!Object.hasOwn(given, key)) continue;
    const name = key;
    const value = (given as Record<string, unknown>)[key];
    const lower = key.toLowerCase();
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number') text = String(value);
    else return null;
    if (keepField(headers, lower, name, text)) trailers = true;
  }
  return { status, headers, trailers };
}

/**
 * Adds a field of Node's head to what tsgi sends, unless it is connection management or framing,
 * which are the server's (tsgi refuses them from apps). True for `Trailer`: Node would send
 * trailers after the body.
 */
function keepField(headers: [string, string][], lower: string, name: string, value: string): boolean {
  if (!HOP_BY_HOP_HEADERS.has(lower)) {
    headers.push([name, value.trim()]);
    return false;
  }
  return lower === 'trailer';
}

/** Node keeps setHeader()'s fields under a private symbol; found on a probe response, once. */
function outHeadersSymbol(): symbol | null {
  const probe = new ServerResponse(new IncomingMessage(null as never));
  probe.setHeader('x-probe', '1');
  return Object.getOwnPropertySymbols(probe).find((symbol) => symbol.description === 'kOutHeaders') ?? null;
}

/** The fields of `Name: value\r\n` lines from `start` to an empty line or the end (heads, `_trailer`). */
export function parseFields(text: string, start = 0): [string, string][] {
  const fields: [string, string][] = [];
  for (;;) {
    const end = text.indexOf('\r\n', start);
    if (end === -1 || end === start) break;
    const colon = text.indexOf(':', start);
    fields.push([text.slice(start, colon), text.slice(colon + 1, end).trim()]);
    start = end + 2;
  }
  return fields;
}
