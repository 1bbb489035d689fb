/** `environ['tsgi.errors']`: a text stream into the server's error log. */
import type { ErrorStream } from '../spec/types.js';
import type { Logger } from '../server/logger.js';

export function createErrorStream(logger: Logger): ErrorStream {
  // One stream serves every request: it holds no per-request state, so sharing it costs nothing.
  const write = (text: string): void => {
    if (typeof text !== 'string') {
      throw new TypeError(`tsgi.errors.write() takes a string, got ${typeof text}; convert it with String() first`);
    }
    logger.appText(text);
  };
  return Object.freeze({
    write,
    writelines(lines: Iterable<string>): void {
      for (const line of lines) write(line);
    },
    flush(): void {
      // stderr is written synchronously line by line; there is nothing buffered to flush.
    },
  });
}
