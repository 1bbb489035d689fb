/** Status lines for the statuses staticFiles() answers with. */
const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  206: '206 Partial Content',
  301: '301 Moved Permanently',
  304: '304 Not Modified',
  404: '404 Not Found',
  412: '412 Precondition Failed',
  416: '416 Range Not Satisfiable',
};

export function statusLine(status: number): string {
  const line = STATUS_LINES[status];
  if (line === undefined) throw new Error(`staticFiles(): no status line for ${status} (a bug in staticFiles)`);
  return line;
}
