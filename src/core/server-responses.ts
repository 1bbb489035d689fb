/**
 * Responses the server writes on its own behalf (a fault, a body over the limit). They say what
 * went wrong in plain text and never leak app details unless the server runs with --debug.
 */
import { SERVER_SOFTWARE } from '../spec/constants.js';
import type { HeaderPair } from '../spec/types.js';
import type { ResponseHead } from './response-head.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

export interface ServerResponse {
  head: ResponseHead;
  body: Buffer;
}

const HEADERS: readonly HeaderPair[] = Object.freeze([
  Object.freeze(['Content-Type', 'text/plain; charset=utf-8']) as HeaderPair,
  Object.freeze(['Server', SERVER_SOFTWARE]) as HeaderPair,
]);

export function reasonPhrase(code: number): string {
  return REASONS[code] ?? 'Error';
}

export function serverResponse(code: number, detail: string | undefined, extraHeaders: readonly HeaderPair[] = []): ServerResponse {
  const reason = reasonPhrase(code);
  const body = Buffer.from(detail === undefined ? `${reason}\n` : `${reason}\n\n${detail}\n`, 'utf8');
  const headers = extraHeaders.length === 0 ? HEADERS : [...HEADERS, ...extraHeaders];
  const head: ResponseHead = { status: `${code} ${reason}`, statusCode: code, headers, declaredLength: -1, hasDate: false, wire: null };
  return { head, body };
}
