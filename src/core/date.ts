/**
 * A cached HTTP `Date` value. Formatting a date costs far more than a request's other header
 * work, and the value only changes once a second, so it is computed at most once a second.
 */
let cachedSecond = -1;
let cachedValue = '';

export function httpDate(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedValue = new Date(second * 1000).toUTCString();
  }
  return cachedValue;
}
