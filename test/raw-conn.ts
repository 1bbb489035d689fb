/**
 * A persistent raw HTTP/1.1 client connection for tests that send several requests (pipelined
 * or one after another) on one socket and parse each response as it completes: Content-Length,
 * chunked, HEAD and bodiless statuses, and close-delimited bodies.
 */
import net from 'node:net';

export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Array<[string, string]>;
  header(name: string): string[];
  body: Buffer;
}

function tryParse(buf: Buffer, isHead: boolean, closed: boolean): { response: RawResponse; consumed: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0]!;
  const headers = lines.slice(1).map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()] as [string, string];
  });
  const header = (name: string) =>
    headers.filter(([key]) => key.toLowerCase() === name.toLowerCase()).map(([, value]) => value);
  const status = Number(statusLine.split(' ')[1]);
  let pos = end + 4;
  const make = (body: Buffer, consumed: number) => ({ response: { statusLine, status, headers, header, body }, consumed });
  if (isHead || status === 204 || status === 304 || (status >= 100 && status < 200)) return make(Buffer.alloc(0), pos);
  if (header('transfer-encoding').some((v) => v.toLowerCase().includes('chunked'))) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd === -1) return null;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      pos = lineEnd + 2;
      if (size === 0) {
        if (buf.length < pos + 2) return null;
        return make(Buffer.concat(parts), pos + 2);
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  const length = header('content-length')[0];
  if (length !== undefined) {
    const n = Number(length);
    if (buf.length < pos + n) return null;
    return make(buf.subarray(pos, pos + n), pos + n);
  }
  if (!closed) return null;
  return make(buf.subarray(pos), buf.length);
}

export class RawConn {
  private buf = Buffer.alloc(0);
  closed = false;
  private notify: (() => void) | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawConn(socket)));
      socket.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort!;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Everything received and not yet consumed by read(). */
  pending(): Buffer {
    return this.buf;
  }

  private wake(): void {
    const notify = this.notify;
    this.notify = null;
    notify?.();
  }

  async waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (this.closed) throw new Error(`connection closed early: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise<void>((resolve) => {
        this.notify = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  async read(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const parsed = tryParse(this.buf, options.head === true, this.closed);
      if (parsed !== null) {
        this.buf = this.buf.subarray(parsed.consumed);
        return parsed.response;
      }
      if (this.closed) {
        throw new Error(`connection closed before a complete response: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for a response');
      await new Promise<void>((resolve) => {
        this.notify = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
