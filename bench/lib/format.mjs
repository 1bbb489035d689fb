// Number formatting shared by the terminal tables, RESULTS.md and the chart. `null` (no data:
// a failed round, a reference server not in the run) prints as an en dash.
const DASH = '–';
const missing = (value) => value === null || value === undefined || Number.isNaN(value);

export const count = (value) => (missing(value) ? DASH : Math.round(value).toLocaleString('en-US'));
export const fixed = (value, digits = 2) => (missing(value) ? DASH : value.toFixed(digits));
export const ratio = (value) => (missing(value) ? DASH : `${value.toFixed(2)}×`);
export const percent = (value) => (missing(value) ? DASH : `${Math.round(value)}%`);
export const mib = (bytes) => (missing(bytes) ? DASH : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
export const kib = (bytes) => (missing(bytes) ? DASH : `${(bytes / 1024).toFixed(1)} KiB`);
export const mibPerSecond = (bytes) => (missing(bytes) ? DASH : (bytes / 2 ** 20).toFixed(0));
/** Latency: autocannon has whole milliseconds, wrk microseconds; show what there is. */
export const ms = (value) => (missing(value) ? DASH : Number.isInteger(value) ? String(value) : value.toFixed(2));
