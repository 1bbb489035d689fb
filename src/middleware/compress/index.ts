/** The compress middleware: `compress(app, { minSize, level, encodings })`. */
export { compress } from './compress.js';
export type { CompressEncoding, CompressLevels, CompressOptions } from './options.js';
