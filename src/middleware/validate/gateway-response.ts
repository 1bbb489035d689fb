/**
 * One gateway response as the validator follows it (docs/spec.md §1, §5, §6): `startResponse`'s
 * rules, the chunks the app produces (returned or passed to `write()`), and whether the body
 * matches the Content-Length the app announced.
 */
import type { BodyChunk, ExcInfo, HeaderPair, StartResponse, WriteFunction } from '../../spec/types.js';
import { checkHeaders, checkStatusLine } from './syntax.js';
import { show, type Report } from './violation.js';

export class GatewayResponse {
  /** `startResponse` was called (and accepted by the server) at least once. */
  private started = false;
  private statusCode = 0;
  /** The app's Content-Length, or -1. */
  private declaredLength = -1;
  /** Body bytes produced so far, through the body and `write()`. */
  private bytes = 0;
  private innerWrite: WriteFunction | null = null;
  private checkedWrite: WriteFunction | null = null;

  constructor(
    private readonly report: Report,
    private readonly serverStartResponse: StartResponse,
    /** HEAD: a body shorter than Content-Length is expected (the app may skip it, §6). */
    private readonly isHead: boolean,
  ) {}

  readonly startResponse: StartResponse = (status: string, headers: readonly HeaderPair[], excInfo?: ExcInfo): WriteFunction => {
    const report = this.report;
    if (this.started && (excInfo === undefined || excInfo === null)) {
      throw report(
        'start-response.second-call',
        '§5',
        'app',
        `startResponse() was called a second time (with ${show(status)}) without excInfo`,
        'call it once; to replace the status and headers after an error, pass the caught error as the third argument',
      );
    }
    checkStatusLine(status, report);
    const { contentLength } = checkHeaders(
      headers,
      { report, rule: 'start-response', section: '§5', origin: 'startResponse()', allowBytes: false },
    );
    // With excInfo after the head went out, the server re-throws it here (§5): passed on as is.
    const write: unknown = this.serverStartResponse(status, headers, excInfo);
    if (typeof write !== 'function') {
      throw report(
        'start-response.write',
        '§5',
        'server',
        `startResponse() returned ${show(write)}, not a write function`,
        'return write(chunk), the legacy imperative write',
      );
    }
    this.started = true;
    this.statusCode = Number(status.slice(0, 3));
    this.declaredLength = contentLength;
    if (write !== this.innerWrite) {
      this.innerWrite = write as WriteFunction;
      this.checkedWrite = (chunk: BodyChunk) => {
        this.chunk(chunk, 'write');
        (write as WriteFunction)(chunk);
      };
    }
    return this.checkedWrite!;
  };

  get hasStarted(): boolean {
    return this.started;
  }

  /** The Content-Length rule applies: 204 and 304 carry no body whatever the app produces (§6). */
  private get lengthApplies(): boolean {
    return this.declaredLength !== -1 && this.statusCode !== 204 && this.statusCode !== 304;
  }

  /** Checks one chunk the app produced (`from` the body or `write()`) and counts it. */
  chunk(chunk: unknown, from: 'body' | 'write'): void {
    const report = this.report;
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      throw report(
        from === 'body' ? 'body.chunk' : 'write.chunk',
        '§1',
        'app',
        `${from === 'body' ? 'the body produced' : 'write() got'} the chunk ${show(chunk)}, not a string or a Uint8Array`,
        'encode it first, e.g. JSON.stringify(value) or Buffer.from(…)',
      );
    }
    if (!this.started) {
      throw report(
        'start-response.missing',
        '§5',
        'app',
        `the body produced the chunk ${show(chunk)} before startResponse() was called`,
        'call startResponse(status, headers) before returning the body, or at the latest in the first iteration, before the first chunk',
      );
    }
    if (!this.lengthApplies) return;
    this.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.byteLength;
    if (this.bytes > this.declaredLength) {
      throw report(
        'body.content-length',
        '§6',
        'app',
        `the body reached ${this.bytes} bytes, past the Content-Length of ${this.declaredLength} the app announced`,
        'announce the real length, or leave Content-Length out and let the server frame the body',
      );
    }
  }

  /** The body's iteration ended normally. */
  end(): void {
    const report = this.report;
    if (!this.started) {
      throw report(
        'start-response.missing',
        '§5',
        'app',
        'the body ended without startResponse() having been called',
        'call startResponse(status, headers) before returning the body',
      );
    }
    if (this.lengthApplies && !this.isHead && this.bytes < this.declaredLength) {
      throw report(
        'body.content-length',
        '§6',
        'app',
        `the body ended after ${this.bytes} bytes, short of the Content-Length of ${this.declaredLength} the app announced`,
        'announce the real length, or leave Content-Length out and let the server frame the body',
      );
    }
  }

  /**
   * Whether `chunks` (an array body) would pass `chunk()` and `end()`: then the array is handed to
   * the server as is and keeps its one-burst fast path.
   */
  acceptsWhole(chunks: readonly unknown[]): boolean {
    if (!this.started) return false;
    let total = this.bytes;
    for (const chunk of chunks) {
      if (typeof chunk === 'string') total += Buffer.byteLength(chunk, 'utf8');
      else if (chunk instanceof Uint8Array) total += chunk.byteLength;
      else return false;
    }
    if (!this.lengthApplies) return true;
    return total === this.declaredLength || (this.isHead && total < this.declaredLength);
  }
}
