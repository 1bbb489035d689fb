/** `--pid FILE`: the serving process's pid (the supervisor's, with workers), written at start, removed at exit. */
import { unlinkSync, writeFileSync } from 'node:fs';

/** Writes this process's pid to `file`; `''` means no pid file. */
export function writePidFile(file: string): void {
  if (file !== '') writeFileSync(file, `${process.pid}\n`);
}

/** Removes the pid file, if one was asked for and is still there. */
export function removePidFile(file: string): void {
  if (file === '') return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
