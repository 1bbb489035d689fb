/**
 * Where log text goes: a standard stream, or a file opened for appending that can be reopened
 * (logrotate moves the file away and sends USR1; the next lines go to a fresh file at the old
 * path). Every process of a supervised server opens the file itself: appends of whole lines from
 * several processes do not interleave.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface LogSink {
  write(text: string): void;
  /** Opens the file again at its path (no-op for a standard stream). */
  reopen(): void;
  close(): void;
}

/** `''` or `-`: the standard stream; otherwise a file, opened now (an Error names it when it cannot be). */
export function openLogSink(target: string, stream: NodeJS.WriteStream): LogSink {
  if (target === '' || target === '-') {
    return { write: (text) => void stream.write(text), reopen: () => undefined, close: () => undefined };
  }
  return new LogFile(target);
}

class LogFile implements LogSink {
  private fd: number;

  constructor(private readonly file: string) {
    this.fd = LogFile.open(file);
  }

  private static open(file: string): number {
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      return openSync(file, 'a', 0o640);
    } catch (error) {
      throw new Error(`cannot open the log file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }

  /**
   * A synchronous append: one write(2) per line keeps lines whole when several processes share
   * the file, and nothing is lost when the process exits right after (a crash, a signal).
   */
  write(text: string): void {
    try {
      writeSync(this.fd, text);
    } catch {
      // A full disk must not take the server down with it; the line is lost.
    }
  }

  reopen(): void {
    const previous = this.fd;
    try {
      this.fd = LogFile.open(this.file);
    } catch (error) {
      process.stderr.write(`[tsgi] [error] ${(error as Error).message}; still writing to the file opened before\n`);
      return;
    }
    closeSync(previous);
  }

  close(): void {
    closeSync(this.fd);
  }
}
