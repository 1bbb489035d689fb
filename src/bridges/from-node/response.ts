/**
 * `res` for a Node request listener: a real `http.ServerResponse` (frameworks swap its prototype
 * for one that inherits from ServerResponse's), writing into the bridge socket. Node serialises
 * the head into `_header` in `_storeHeader`; the response keeps Node's every rule for building it
 * (writeHead with objects or arrays, setHeader, implicit heads, HEAD/204/304), and an own
 * `_storeHeader` (which survives the prototype swap) hands the head to tsgi instead of the socket.
 * The body is then written raw: tsgi, not Node, frames it (Content-Length or chunked).
 */
import { OutgoingMessage, ServerResponse, type IncomingMessage } from 'node:http';
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

/**
 * Node's `_storeHeader`, then the head goes to tsgi instead of the socket. One shared function
 * (an own property of each response, which survives the prototype swap) that finds its sink on
 * the response.
 */
function storeHeader(this: ServerResponse, firstLine: string, headers: unknown): void {
  nodeStoreHeader.call(this, firstLine, headers);
  const self = this as unknown as Internals;
  const head = parseHead(self._header);
  // Node writes `_trailer` only into a chunked body, so the trailers need Node's choice of it.
  head.trailers &&= self.chunkedEncoding;
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
    const lower = field[0].toLowerCase();
    // Connection management and framing are the server's (tsgi refuses them from apps).
    if (!HOP_BY_HOP_HEADERS.has(lower)) headers.push(field);
    else if (lower === 'trailer') trailers = true;
  }
  return { status, headers, trailers };
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
