/**
 * `request.headers` for a fetch handler: a `Headers` (instanceof, every method) that answers
 * `get()` and `has()` straight from the scope's header list, and builds a standard `Headers` only
 * when something else is asked of it (iteration, a change). Most handlers read two or three
 * headers by name; copying all of them into a `Headers` per request is what this saves.
 */
import type { EventHeader } from '../../spec/event-types.js';

const StandardHeaders = globalThis.Headers;

/** Header names are tokens (RFC 9110 §5.6.2), as `Headers` checks them. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function isHttpWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** `Headers` strips leading and trailing whitespace from values; llhttp has already, mostly. */
function normalized(value: string): string {
  if (value === '' || (!isHttpWhitespace(value.charCodeAt(0)) && !isHttpWhitespace(value.charCodeAt(value.length - 1)))) return value;
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

function lowerName(name: unknown, method: string): string {
  const text = String(name);
  if (!TOKEN.test(text)) throw new TypeError(`Headers.${method}: ${JSON.stringify(text)} is an invalid header name.`);
  return text.toLowerCase();
}

/** Lets the owning request point these headers at its standard `Request`'s own. */
export const ADOPT = Symbol('tsgi.adoptHeaders');
/** What a standard `Request` made for the owning request is given as its headers. */
export const SNAPSHOT = Symbol('tsgi.headersSnapshot');

export class RequestHeaders {
  readonly #pairs: readonly EventHeader[];
  /** The standard `Headers` everything goes to once it exists. */
  #standard: Headers | null = null;

  constructor(pairs: readonly EventHeader[]) {
    this.#pairs = pairs;
  }

  /** The standard `Headers`, made from the scope's list on first need. */
  #real(): Headers {
    if (this.#standard === null) {
      const headers = new StandardHeaders();
      for (const [name, value] of this.#pairs) headers.append(name, value);
      this.#standard = headers;
    }
    return this.#standard;
  }

  /** From now on, `headers` (a request's standard Headers, a copy of these) answers for them. */
  [ADOPT](headers: Headers): void {
    this.#standard = headers;
  }

  /** The standard Headers when made, else a copy of the scope's list: what a Request is given. */
  [SNAPSHOT](): Headers | readonly EventHeader[] {
    return this.#standard ?? this.#pairs;
  }

  get(name: string): string | null {
    if (this.#standard !== null) return this.#standard.get(name);
    const lower = lowerName(name, 'get');
    let value: string | null = null;
    const pairs = this.#pairs;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!;
      if (pair[0] !== lower) continue;
      // Repeated fields are combined the way undici's Headers does (cookies with "; ").
      value = value === null ? normalized(pair[1]) : `${value}${lower === 'cookie' ? '; ' : ', '}${normalized(pair[1])}`;
    }
    return value;
  }

  has(name: string): boolean {
    if (this.#standard !== null) return this.#standard.has(name);
    const lower = lowerName(name, 'has');
    for (const pair of this.#pairs) if (pair[0] === lower) return true;
    return false;
  }

  append(name: string, value: string): void {
    this.#real().append(name, value);
  }

  set(name: string, value: string): void {
    this.#real().set(name, value);
  }

  delete(name: string): void {
    this.#real().delete(name);
  }

  getSetCookie(): string[] {
    return this.#real().getSetCookie();
  }

  keys(): ReturnType<Headers['keys']> {
    return this.#real().keys();
  }

  values(): ReturnType<Headers['values']> {
    return this.#real().values();
  }

  entries(): ReturnType<Headers['entries']> {
    return this.#real().entries();
  }

  [Symbol.iterator](): ReturnType<Headers['entries']> {
    return this.#real().entries();
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    this.#real().forEach((value, name) => callback.call(thisArg, value, name, this as unknown as Headers));
  }

  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return inspect(this.#real(), { ...options, depth });
  }
}

// instanceof Headers, and Headers.prototype's toStringTag.
Object.setPrototypeOf(RequestHeaders.prototype, StandardHeaders.prototype);
