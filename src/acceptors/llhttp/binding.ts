/**
 * The one file that touches Node's internal HTTP parser binding: llhttp, the C parser inside
 * every Node, reached through `require('_http_common').HTTPParser` (what node:http itself uses).
 *
 * It is undocumented and could change or go away (there is an open proposal to deprecate the
 * `_http_*` modules), so nothing here is trusted blindly: `loadLlhttp` checks every member tsgi
 * uses, then parses a request and checks the callback arguments against what the rest of the
 * backend expects. Any difference is a reason to fall back to the node backend, and the start-up
 * line says which. Checked on Node 20, 22, 24 and 26.
 */
import { createRequire } from 'node:module';

/** One parser instance, as Node's binding exposes it (callbacks are set by index). */
export interface ParserInstance {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Reads straight from a stream handle in C++: no Buffer per read reaches JS. */
  consume(handle: unknown): void;
  unconsume(): void;
  /** Parses `data`; returns the bytes parsed, or an Error with `code` and `bytesParsed`. */
  execute(data: Uint8Array): number | ParseError | undefined;
  /** During a consumed read's `onExecute`: a copy of the bytes that read delivered. */
  getCurrentBuffer(): Buffer;
  /** Ends the input: the bytes parsed (0), or an Error if a message was cut short. */
  finish(): number | ParseError | undefined;
  free(): void;
  close(): void;
  [callback: number]: unknown;
}

export interface ParseError extends Error {
  code: string;
  /** llhttp's words for what it found wrong. */
  reason?: string;
  bytesParsed: number;
}

/** `onHeadersComplete`'s arguments, in the binding's order. */
export type HeadersComplete = (
  this: ParserInstance,
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  statusCode: number | undefined,
  statusMessage: string | undefined,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number;

export interface LlhttpBinding {
  createParser(): ParserInstance;
  /** `initialize`'s type for request parsers. */
  readonly REQUEST: number;
  /** Headers flushed early (more than 32, or a head split over several reads). */
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  /** After each consumed read: the bytes parsed, or the parse error. */
  readonly kOnExecute: number;
  /** Method names by the index `onHeadersComplete` passes. */
  readonly methods: readonly string[];
  /** `initialize`'s flag that lets any version digits through (tsgi checks versions itself); 0 where absent. */
  readonly lenientVersion: number;
}

interface HttpCommon {
  HTTPParser?: (new () => ParserInstance) & Record<string, unknown>;
  methods?: unknown;
}

const CONSTANTS = ['REQUEST', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete', 'kOnExecute'] as const;
const METHODS = ['initialize', 'consume', 'unconsume', 'execute', 'getCurrentBuffer', 'finish', 'free', 'close'] as const;

let loaded: LlhttpBinding | null = null;

/** The binding, checked; throws an Error whose message says what is missing or changed. */
export function loadLlhttp(): LlhttpBinding {
  if (loaded !== null) return loaded;
  const require = createRequire(import.meta.url);
  let common: HttpCommon;
  try {
    common = require('_http_common') as HttpCommon;
  } catch (error) {
    throw new Error(`Node's _http_common module cannot be loaded (${(error as Error).message})`);
  }
  const Parser = common.HTTPParser;
  if (typeof Parser !== 'function') throw new Error("Node's _http_common has no HTTPParser");
  for (const name of CONSTANTS) {
    if (typeof Parser[name] !== 'number') throw new Error(`Node's HTTPParser has no numeric ${name}`);
  }
  for (const name of METHODS) {
    if (typeof (Parser.prototype as Record<string, unknown>)[name] !== 'function') {
      throw new Error(`Node's HTTPParser has no ${name}() method`);
    }
  }
  const methods = common.methods;
  if (!Array.isArray(methods) || !methods.every((method) => typeof method === 'string')) {
    throw new Error("Node's _http_common has no methods list");
  }
  const binding: LlhttpBinding = {
    createParser: () => new Parser(),
    REQUEST: Parser.REQUEST as number,
    kOnHeaders: Parser.kOnHeaders as number,
    kOnHeadersComplete: Parser.kOnHeadersComplete as number,
    kOnBody: Parser.kOnBody as number,
    kOnMessageComplete: Parser.kOnMessageComplete as number,
    kOnExecute: Parser.kOnExecute as number,
    methods: methods as string[],
    lenientVersion: typeof Parser.kLenientVersion === 'number' ? Parser.kLenientVersion : 0,
  };
  selfTest(binding);
  loaded = binding;
  return binding;
}

/**
 * Parses one pipelined pair of requests and checks that the callbacks say what the backend
 * reads from them: the version, the flat header list, the method index, the URL, keep-alive,
 * the body bytes and the end of each message.
 */
function selfTest(binding: LlhttpBinding): void {
  const parser = binding.createParser();
  const seen: string[] = [];
  try {
    parser.initialize(binding.REQUEST, {}, 16 * 1024, 0);
    parser[binding.kOnHeadersComplete] = function (
      major: unknown,
      minor: unknown,
      headers: unknown,
      method: unknown,
      url: unknown,
      _status: unknown,
      _message: unknown,
      upgrade: unknown,
      keepAlive: unknown,
    ): number {
      const name = typeof method === 'number' ? binding.methods[method] : undefined;
      seen.push(`${String(major)}.${String(minor)} ${String(name)} ${String(url)} ${JSON.stringify(headers)} ${String(upgrade)} ${String(keepAlive)}`);
      return 0;
    };
    parser[binding.kOnBody] = (chunk: unknown) => seen.push(`body ${Buffer.isBuffer(chunk) ? chunk.toString('latin1') : typeof chunk}`);
    parser[binding.kOnMessageComplete] = () => seen.push('end');
    const request = 'POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.0\r\n\r\n';
    const result = parser.execute(Buffer.from(request, 'latin1'));
    const expected = [
      '1.1 POST /a?b ["Host","x","Content-Length","2"] false true',
      'body hi',
      'end',
      '1.0 GET / [] false false',
      'end',
    ];
    if (result !== request.length || JSON.stringify(seen) !== JSON.stringify(expected)) {
      throw new Error(`Node's HTTPParser answers differently than expected (parsed ${String(result)}: ${JSON.stringify(seen)})`);
    }
  } finally {
    parser.free();
    parser.close();
  }
}
