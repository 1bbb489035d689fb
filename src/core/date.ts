/**
 * A cached HTTP `Date` value. Formatting a date costs far more than a request's other header
 * work, and the value only changes once a second, so it is computed at most once a second. Not
 * even the clock is read per request (Date.now() is a system call on some virtual machines): a
 * timer clears the value at the next second boundary, as node:http does with its own.
 */
let cachedValue = '';

export function httpDate(): string {
  if (cachedValue === '') {
    const now = Date.now();
    cachedValue = new Date(now).toUTCString();
    // Unref'd: the cache never keeps a process alive.
    setTimeout(clearCachedDate, 1000 - (now % 1000)).unref();
  }
  return cachedValue;
}

function clearCachedDate(): void {
  cachedValue = '';
}
