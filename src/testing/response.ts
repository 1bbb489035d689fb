/**
 * Standard `Response` objects for what the app answered, and for the answers the server gives on
 * its own (500 after a fault, 413 for a body over the limit), with the bodies the server sends.
 */
import { serverResponse } from '../core/server-responses.js';
import { STATUS_CODES } from 'node:http';

/** Statuses `new Response()` refuses a body for (fetch's "null body status"). */
export function isNullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

export function reasonOf(status: number): string {
  return STATUS_CODES[status] ?? '';
}

export function buildResponse(
  status: number,
  statusText: string,
  headers: readonly (readonly [string, string])[],
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  url: string,
): Response {
  const list = new Headers();
  for (const [name, value] of headers) list.append(name, value);
  const response = new Response(isNullBodyStatus(status) ? null : body, { status, statusText, headers: list });
  // A Response built by hand has an empty url; a fetched one names what was fetched.
  Object.defineProperty(response, 'url', { value: url, enumerable: true, configurable: true });
  return response;
}

/** The server's own answer (`500 Internal Server Error`, `413 Content Too Large`, …). */
export function serverAnswer(code: number, detail: string | undefined, url: string, isHead: boolean): Response {
  const { head, body } = serverResponse(code, detail);
  const headers: [string, string][] = [...head.headers.map(([name, value]): [string, string] => [name, value]), ['Content-Length', String(body.byteLength)]];
  return buildResponse(code, reasonOf(code), headers, isHead ? null : new Uint8Array(body), url);
}
