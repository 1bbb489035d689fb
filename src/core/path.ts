/**
 * Percent-decoding of the request path into PATH_INFO (UTF-8). Malformed escapes stay literal and
 * invalid UTF-8 becomes U+FFFD, so an odd path still reaches the app; `tsgi.raw_path` keeps the
 * exact bytes for apps that must tell `%2F` from `/`.
 */
const utf8 = new TextDecoder('utf-8', { fatal: false });

export function decodePath(raw: string): string {
  if (raw.indexOf('%') === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return decodeLeniently(raw);
  }
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function decodeLeniently(raw: string): string {
  const bytes: number[] = [];
  const source = Buffer.from(raw, 'utf8');
  for (let i = 0; i < source.length; i++) {
    const byte = source[i]!;
    if (byte === 37 /* % */ && i + 2 < source.length) {
      const high = hexValue(source[i + 1]!);
      const low = hexValue(source[i + 2]!);
      if (high >= 0 && low >= 0) {
        bytes.push(high * 16 + low);
        i += 2;
        continue;
      }
    }
    bytes.push(byte);
  }
  return utf8.decode(Uint8Array.from(bytes));
}
