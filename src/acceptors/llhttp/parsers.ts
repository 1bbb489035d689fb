/**
 * llhttp parsers for connections: the callbacks every parser shares (they find their connection
 * through the parser), and a pool, so a connection or a request that comes back from idleness
 * reuses a parser instead of making a new C++ object.
 */
import type { LlhttpBinding, ParseError, ParserInstance } from './binding.js';
import type { Connection } from './connection.js';

export interface OwnedParser extends ParserInstance {
  connection: Connection | null;
}

function onHeaders(this: OwnedParser, headers: string[], url: string): void {
  this.connection?.onHeaders(headers, url);
}

function onHeadersComplete(
  this: OwnedParser,
  major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _status: unknown,
  _message: unknown,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  const connection = this.connection;
  if (connection === null) return -1;
  try {
    return connection.onHeadersComplete(major, minor, headers, method, url, upgrade, keepAlive);
  } catch (error) {
    return parserFault(connection, error);
  }
}

function onBody(this: OwnedParser, chunk: Buffer): void {
  const connection = this.connection;
  try {
    connection?.onBody(chunk);
  } catch (error) {
    if (connection) parserFault(connection, error);
  }
}

function onMessageComplete(this: OwnedParser): void {
  const connection = this.connection;
  try {
    connection?.onMessageComplete();
  } catch (error) {
    if (connection) parserFault(connection, error);
  }
}

function onExecute(this: OwnedParser, result: number | ParseError): void {
  const connection = this.connection;
  try {
    connection?.onExecute(result);
  } catch (error) {
    if (connection) parserFault(connection, error);
  }
}

/** A throw in the backend's own code (a tsgi bug) must not unwind through the parser: the connection is cut. */
function parserFault(connection: Connection, error: unknown): number {
  connection.fault(error);
  return -1;
}

/** Sets or clears the parser's end-of-message callback (only requests with a body need it). */
export function armMessageComplete(parser: OwnedParser, binding: LlhttpBinding, armed: boolean): void {
  parser[binding.kOnMessageComplete] = armed ? onMessageComplete : null;
}

const pool: OwnedParser[] = [];
const POOL_SIZE = 256;
const RESOURCE = Object.freeze({});

export function acquireParser(binding: LlhttpBinding, maxHeaderSize: number): OwnedParser {
  let parser = pool.pop();
  if (parser === undefined) {
    parser = binding.createParser() as OwnedParser;
    parser[binding.kOnHeaders] = onHeaders;
    parser[binding.kOnHeadersComplete] = onHeadersComplete;
    parser[binding.kOnBody] = onBody;
    parser[binding.kOnExecute] = onExecute;
  }
  parser[binding.kOnMessageComplete] = null;
  // Strict but for version digits: llhttp refuses every framing ambiguity it knows, and tsgi
  // checks the version itself (505 for anything but 1.x; 1.2 is served as 1.1).
  parser.initialize(binding.REQUEST, RESOURCE, maxHeaderSize, binding.lenientVersion);
  return parser;
}

export function releaseParser(parser: OwnedParser, consumed: boolean): void {
  if (consumed) parser.unconsume();
  parser.free();
  if (pool.length < POOL_SIZE) pool.push(parser);
  // Deleting the C++ parser must wait until no call of it is on the stack.
  else setImmediate(closeParser, parser);
}

function closeParser(parser: OwnedParser): void {
  parser.close();
}
