/**
 * Shared test helpers: real servers on port 0, real sockets. Nothing here fakes the server.
 */
import net from 'node:net';
import { describe, it } from 'vitest';
import { BACKENDS as REGISTRY, findBackend } from '../src/acceptors/registry.js';
import type { BackendTraits } from '../src/acceptors/types.js';
import { serve, type Server } from '../src/index.js';
import type { BackendName, EventApp, GatewayApp, ServeOptions } from '../src/index.js';

export type { BackendName };

/** TSGI_TEST_BACKENDS=a,b narrows a run to some backends on purpose; the rest are reported skipped. */
const selected = process.env.TSGI_TEST_BACKENDS?.split(',').map((name) => name.trim());

/** Why each registered backend cannot be tested in this run, or null when it can. */
const skipReasons = new Map<BackendName, string | null>(
  await Promise.all(
    REGISTRY.map(async (backend): Promise<[BackendName, string | null]> => {
      if (selected !== undefined && !selected.includes(backend.name)) return [backend.name, 'not in TSGI_TEST_BACKENDS'];
      return [backend.name, await backend.probe()];
    }),
  ),
);

/** The registered backends that load here: every suite runs on each of them. */
export const BACKENDS: readonly BackendName[] = REGISTRY.map((backend) => backend.name).filter((name) => skipReasons.get(name) === null);

/** What a client can observe that differs on `backend` (docs/spec.md §8). */
export function traitsOf(backend: BackendName): BackendTraits {
  return findBackend(backend)!.traits;
}

/**
 * `describe.each` over every registered backend: a suite per backend that loads, and for one
 * that cannot load here a single skipped test whose name gives the reason, so the run reports it
 * as skipped and never as passed.
 */
export function describeBackends(title: string, body: (backend: BackendName) => void): void {
  for (const backend of REGISTRY) {
    const reason = skipReasons.get(backend.name);
    const name = title.replace('%s', backend.name);
    if (reason === null) describe(name, () => body(backend.name));
    else describe(name, () => it.skip(`skipped: ${reason}`, () => {}));
  }
}

export interface TestServer {
  server: Server;
  port: number;
  url: string;
  /** Everything the server wrote to its error log. */
  errors: string[];
  /** Access-log lines. */
  access: string[];
  close(): Promise<void>;
}

// Overloads rather than one union parameter: a union gives an inline gateway app
// `(environ, startResponse) => …` no contextual type, so its parameters would be implicit any.
// The gateway overload comes first: an inline function takes its parameter types from it.
export async function startServer(app: GatewayApp, backend: BackendName, options?: ServeOptions): Promise<TestServer>;
export async function startServer(app: EventApp, backend: BackendName, options?: ServeOptions): Promise<TestServer>;
export async function startServer(
  app: GatewayApp | EventApp,
  backend: BackendName,
  options: ServeOptions = {},
): Promise<TestServer> {
  const errors: string[] = [];
  const access: string[] = [];
  const server = await serve(app, {
    host: '127.0.0.1',
    port: 0,
    backend,
    logLevel: 'warning',
    gracefulTimeout: 2,
    errorSink: (text) => errors.push(text),
    accessSink: (text) => access.push(text),
    ...options,
  });
  return {
    server,
    port: server.port,
    url: `http://127.0.0.1:${server.port}`,
    errors,
    access,
    close: () => server.close(),
  };
}

export interface RawResult {
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** Whether the server closed the connection before `waitMs` ran out. */
  closed: boolean;
}

/**
 * Writes `data` on a fresh TCP connection and collects what comes back until the server closes
 * the connection or `waitMs` passes without it.
 */
export function rawRequest(port: number, data: string | Buffer | Array<string | Buffer>, waitMs = 500): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('connect', () => {
      for (const part of Array.isArray(data) ? data : [data]) socket.write(part);
    });
  });
}

/** Parses the responses in a raw HTTP/1.1 byte stream (Content-Length and chunked framing). */
export interface ParsedResponse {
  statusLine: string;
  status: number;
  headers: Array<[string, string]>;
  /** Lower-cased header name → values. */
  header(name: string): string[];
  body: string;
}

export function parseResponses(text: string): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const lines = rest.slice(0, end).split('\r\n');
    const statusLine = lines[0]!;
    const headers = lines.slice(1).map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()] as [string, string];
    });
    const header = (name: string) => headers.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
    rest = rest.slice(end + 4);
    const status = Number(statusLine.split(' ')[1]);
    let body = '';
    const length = header('content-length')[0];
    if (status === 100) {
      out.push({ statusLine, status, headers, header, body });
      continue;
    }
    if (header('transfer-encoding').some((v) => v.toLowerCase().includes('chunked'))) {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        if (lineEnd === -1) break;
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf('\r\n') + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (length !== undefined) {
      body = rest.slice(0, Number(length));
      rest = rest.slice(Number(length));
    } else if (status !== 204 && status !== 304) {
      body = rest;
      rest = '';
    }
    out.push({ statusLine, status, headers, header, body });
  }
  return out;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(condition: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await delay(10);
  }
  return condition();
}
