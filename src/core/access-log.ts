/**
 * Access-log lines in the Common Log Format, as Apache, nginx and gunicorn write them:
 *   127.0.0.1 - - [21/Nov/2026:07:21:39 +0000] "GET /path?q=1 HTTP/1.1" 200 13
 * A response cut short logs the status the server had started to send and the body bytes it
 * wrote; a request that never got a status logs `-`.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = -1;
let cachedStamp = '';

function pad(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

export function clfTimestamp(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    cachedSecond = second;
    cachedStamp =
      `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  }
  return cachedStamp;
}

/** One CLF line from its parts (gateway environs and event scopes both end up here). */
export function formatAccessFields(
  remote: string,
  method: string,
  rawPath: string,
  query: string,
  protocol: string,
  status: number,
  bytes: number,
): string {
  const target = query === '' ? rawPath : `${rawPath}?${query}`;
  // Quotes and control characters in the target would let a client forge log fields.
  const safeTarget = JSON.stringify(target).slice(1, -1);
  const statusField = status === 0 ? '-' : String(status);
  return `${remote} - - [${clfTimestamp()}] "${method} ${safeTarget} ${protocol}" ${statusField} ${bytes}`;
}
