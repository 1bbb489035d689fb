/**
 * The write side of one llhttp connection. Everything written while a read is being parsed
 * (`batching`) leaves together once that read is answered: one socket write for one response, one
 * writev for a pipelined batch. Outside a parse, writes go to the corked socket and leave at the
 * end of the tick. Streamed bodies go to the socket at once, with its own backpressure.
 */
import type { Socket } from 'node:net';
import type { BodyChunk } from '../../spec/types.js';

/** A whole response whose body is at most this size goes out in one piece with its head (a copy). */
const MAX_JOINED_BODY = 16 * 1024;

export interface OutputOwner {
  /** A tick's corked writes left: the owner may look at the socket's backlog. */
  flushed(): void;
}

export class Output {
  /** Inside the parsing of one read: whole pieces wait in `burst` until `flush`. */
  batching = false;
  private corked = false;
  /** Whole pieces (Latin-1 text or bytes) written while batching. */
  private burst: Array<string | Uint8Array> = [];

  constructor(
    private readonly socket: Socket,
    private readonly owner: OutputOwner,
  ) {}

  /** A response head (ending with its blank line) and, for a whole response, its body of `bodyLength` bytes. */
  response(head: string, body: BodyChunk | null, bodyLength: number): void {
    if (body === null) {
      this.send(head);
    } else if (typeof body === 'string' && bodyLength === body.length && bodyLength <= MAX_JOINED_BODY) {
      // As many bytes as UTF-16 units: the body is ASCII, so head and body are one Latin-1 string.
      this.send(head + body);
    } else if (bodyLength > MAX_JOINED_BODY) {
      // Large bodies go as they are (one writev with the head, no copy).
      this.toSocket();
      this.socket.write(head, 'latin1');
      this.socket.write(body);
    } else {
      // Head and body in one buffer: one write (no writev), and one piece of a burst.
      const bytes = Buffer.allocUnsafe(head.length + bodyLength);
      bytes.write(head, 0, 'latin1');
      if (typeof body === 'string') bytes.write(body, head.length, 'utf8');
      else bytes.set(body, head.length);
      this.send(bytes);
    }
  }

  /** Body bytes of a response with a Content-Length (or close-delimited); false: wait for drain. */
  body(chunk: BodyChunk): boolean {
    this.toSocket();
    return this.socket.write(chunk);
  }

  /** One chunk of a chunked response; false: wait for drain. */
  chunk(chunk: BodyChunk): boolean {
    const socket = this.socket;
    const length = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    this.toSocket();
    socket.write(`${length.toString(16)}\r\n`, 'latin1');
    socket.write(chunk);
    return socket.write('\r\n', 'latin1');
  }

  /**
   * A whole piece, Latin-1 text or bytes (a small response, a refusal, a 100 Continue): into the
   * burst while batching, otherwise to the corked socket after what came before it.
   */
  send(piece: string | Uint8Array): void {
    if (this.batching && !this.corked) {
      this.burst.push(piece);
      return;
    }
    this.toSocket();
    this.socket.write(piece, 'latin1');
  }

  /** Everything written so far leaves: the burst in one write (or writev), the corked socket's queue. */
  flush(): void {
    const burst = this.burst;
    if (this.socket.destroyed) {
      burst.length = 0;
      this.corked = false;
      return;
    }
    if (!this.corked && burst.length === 1) {
      this.socket.write(burst[0]!, 'latin1');
      burst.length = 0;
    } else {
      if (burst.length > 0) this.toSocket();
      if (!this.corked) return;
      this.corked = false;
      this.socket.uncork();
    }
  }

  /** An idle connection drops the burst's grown backing store; an empty fresh one costs nothing. */
  shrink(): void {
    if (this.burst.length === 0) this.burst = [];
  }

  /** From now on, writes go to the (corked) socket, after whatever waited in the burst. */
  private toSocket(): void {
    this.cork();
    const burst = this.burst;
    if (burst.length === 0) return;
    for (const piece of burst) this.socket.write(piece, 'latin1');
    burst.length = 0;
  }

  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    // While batching, the connection flushes once the read is answered.
    if (!this.batching) process.nextTick(flushOutput, this);
  }

  /** The end of a tick that wrote outside a parse. */
  tickEnded(): void {
    this.flush();
    this.owner.flushed();
  }
}

function flushOutput(output: Output): void {
  output.tickEnded();
}
