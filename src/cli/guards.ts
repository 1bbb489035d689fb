/** Process-wide guards for a process that serves an app: the tsgi command's, and each worker's. */
import type { Logger } from '../server/logger.js';

/** An app's stray timer or unawaited promise must not take every other request down with it. */
export function installProcessGuards(logger: Logger | null): void {
  const report = (text: string): void => {
    if (logger !== null) logger.log('error', text);
    else process.stderr.write(`[tsgi] [error] ${text}\n`);
  };
  process.on('uncaughtException', (error) => {
    report(`an exception escaped the app outside any request; the server keeps running:\n${error.stack ?? String(error)}`);
  });
  process.on('unhandledRejection', (reason) => {
    report(
      `a promise rejection escaped the app outside any request; the server keeps running:\n${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    );
  });
}
