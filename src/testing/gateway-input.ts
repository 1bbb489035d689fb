/**
 * `environ['tsgi.input']` fed from the test's request body, with the server's own `RequestInput`
 * so the app sees exactly the server's input: buffered (read whole before the app is called, up
 * to the limit, so `read()` works) or streamed (chunks as the test's stream yields them, with the
 * same bounded queue and the same error from a synchronous read while the body is arriving).
 */
import { RequestInput, type InputOwner } from '../core/input.js';
import type { BodySource } from './request.js';

const EMPTY = new Uint8Array(0);

export interface FedInput {
  readonly input: RequestInput;
  /** The response is over: stop reading the test's body and fail a pending read. */
  finish(): void;
}

export type BufferedOutcome = FedInput | { readonly tooLarge: true };

function chunkOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError(`a request body stream must yield Uint8Array chunks (or strings); got ${value === null ? 'null' : typeof value}`);
}

const SETTLED: FedInput['finish'] = () => {};

/**
 * The whole body, read before the app runs. A declared Content-Length over `limit` is refused
 * without reading, a stream that grows past it as soon as it does (the server answers 413).
 */
export async function bufferedInput(body: BodySource, declaredLength: number | null, limit: number): Promise<BufferedOutcome> {
  if (body.kind === 'none') return { input: RequestInput.empty(), finish: SETTLED };
  if (declaredLength !== null && declaredLength > limit) {
    if (body.kind === 'stream') void body.stream.cancel().catch(() => undefined);
    return { tooLarge: true };
  }
  const input = new RequestInput(null, 'buffered', Infinity);
  if (body.kind === 'bytes') {
    if (body.bytes.byteLength > limit) return { tooLarge: true };
    input.onBodyChunk(body.bytes, true);
    return { input, finish: SETTLED };
  }
  const reader = body.stream.getReader();
  let total = 0;
  for (;;) {
    const step = await reader.read();
    if (step.done) break;
    const chunk = chunkOf(step.value);
    total += chunk.byteLength;
    if (total > limit) {
      void reader.cancel().catch(() => undefined);
      return { tooLarge: true };
    }
    input.onBodyChunk(chunk, false);
  }
  input.onBodyChunk(EMPTY, true);
  return { input, finish: SETTLED };
}

/** An input the app iterates while the test's stream is still producing. */
export function streamedInput(body: BodySource): FedInput {
  if (body.kind === 'none') return { input: RequestInput.empty(), finish: SETTLED };
  if (body.kind === 'bytes') {
    const input = new RequestInput(null, 'stream', Infinity);
    input.onBodyChunk(body.bytes, true);
    return { input, finish: SETTLED };
  }
  const reader = body.stream.getReader();
  let paused = false;
  let finished = false;
  let resume: (() => void) | null = null;
  // The server stops reading its socket when the app falls behind; here the test's stream is
  // simply not pulled until the app has taken what is queued.
  const owner: InputOwner = {
    onInputComplete: () => {},
    onInputOverflow: () => {},
    pauseInput: () => {
      paused = true;
    },
    resumeInput: () => {
      paused = false;
      const wake = resume;
      resume = null;
      wake?.();
    },
  };
  const input = new RequestInput(owner, 'stream', Infinity);
  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        while (paused && !finished) await new Promise<void>((resolve) => (resume = resolve));
        if (finished) return;
        const step = await reader.read();
        if (finished) return;
        if (step.done) {
          input.onBodyChunk(EMPTY, true);
          return;
        }
        input.onBodyChunk(chunkOf(step.value), false);
      }
    } catch (error) {
      // The test's stream failed: to the app that is a client gone mid-body.
      input.fail(new Error(`the request body stream failed before its end: ${error instanceof Error ? error.message : String(error)}`));
    }
  };
  void pump();
  return {
    input,
    finish: () => {
      if (finished) return;
      finished = true;
      if (!input.isSettled) input.fail(new Error('the response ended before the request body was read to its end'));
      void reader.cancel().catch(() => undefined);
      const wake = resume;
      resume = null;
      wake?.();
    },
  };
}
