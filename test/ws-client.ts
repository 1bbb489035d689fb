/**
 * A websocket test client on the `ws` package: connects for real, queues what the server sends,
 * and records the handshake response, pings and the close. Nothing here fakes the server.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket, { type ClientOptions } from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export interface Refusal {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export class TestClient {
  readonly ws: WebSocket;
  /** The 101 response (headers as Node parsed them). */
  readonly opened: Promise<IncomingMessage>;
  readonly closed: Promise<Closed>;
  pings = 0;
  receivedBytes = 0;
  private readonly queue: Array<string | Buffer> = [];
  private waiters: Array<(message: string | Buffer) => void> = [];

  constructor(url: string, protocols: string[] = [], options: ClientOptions = {}) {
    this.ws = new WebSocket(url, protocols, options);
    let upgrade: IncomingMessage | null = null;
    this.ws.on('upgrade', (response) => (upgrade = response));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve(upgrade!));
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_request, response) => {
        reject(new Error(`the server answered the handshake with ${response.statusCode}`));
      });
    });
    // Tests that expect a refusal look at refused() instead.
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    this.ws.on('error', () => undefined);
    this.ws.on('ping', () => this.pings++);
    this.ws.on('message', (data, isBinary) => {
      const message = isBinary ? (data as Buffer) : (data as Buffer).toString('utf8');
      this.receivedBytes += (data as Buffer).byteLength;
      const waiter = this.waiters.shift();
      if (waiter !== undefined) waiter(message);
      else this.queue.push(message);
    });
  }

  next(): Promise<string | Buffer> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get queued(): number {
    return this.queue.length;
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  close(code?: number, reason?: string): Promise<Closed> {
    this.ws.close(code, reason);
    return this.closed;
  }
}

/** Opens a websocket and waits for the handshake. */
export async function connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<TestClient> {
  const client = new TestClient(url, protocols, options);
  await client.opened;
  return client;
}

/** Attempts a handshake the server is expected to refuse; resolves with its HTTP answer. */
export function refused(url: string, protocols: string[] = []): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the server accepted a handshake it should have refused'));
    });
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
        request.destroy();
      });
    });
  });
}

/** `ws://` URL of a test server. */
export function wsUrl(port: number, path = '/'): string {
  return `ws://127.0.0.1:${port}${path}`;
}
