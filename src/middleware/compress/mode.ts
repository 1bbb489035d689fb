/** Where one gateway response through compress() stands. */
export const Mode = {
  /** The app has not called startResponse yet (it may, lazily, inside its body). */
  Waiting: 0,
  /** Compressible: the server's startResponse waits until the body's shape is known. */
  Deferred: 1,
  /** Handed to the server as it is. */
  Pass: 2,
  /** Handed to the server with Content-Encoding; the body is compressed. */
  Compress: 3,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];
