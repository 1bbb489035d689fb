/**
 * The options of `httpsRedirect()`, checked when the app is wrapped so a wrong status or port
 * fails at start-up rather than on the first request.
 */

/** The redirect statuses: 307 and 308 keep the method and body of a POST, 301 and 302 may not. */
export type RedirectStatus = 301 | 302 | 307 | 308;

export interface HttpsRedirectOptions {
  /**
   * The status of the redirect. Default `308` (Permanent Redirect): browsers remember it and
   * repeat the request, method and body included, on https. `307` is the temporary equivalent;
   * `301`/`302` are for old clients, which turn a redirected POST into a GET.
   */
  status?: RedirectStatus;
  /**
   * The port the https site listens on. Default: the request's own port is kept, except that an
   * explicit `:80` (or `:443`) is dropped, so `http://example.com:80/` goes to
   * `https://example.com/` and `http://example.com:8080/` to `https://example.com:8080/`. Set it
   * when http and https listen on different non-default ports: every redirect then names this
   * port (none for 443).
   */
  httpsPort?: number;
}

export interface RedirectPolicy {
  /** `'308 Permanent Redirect'`, … for gateway apps. */
  statusLine: string;
  status: RedirectStatus;
  /** The port to put in every redirect (`''` for 443), or null to keep the request's. */
  httpsPort: string | null;
}

const STATUS_LINES: Record<RedirectStatus, string> = {
  301: '301 Moved Permanently',
  302: '302 Found',
  307: '307 Temporary Redirect',
  308: '308 Permanent Redirect',
};

export function redirectPolicy(options: HttpsRedirectOptions | undefined): RedirectPolicy {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`httpsRedirect() options must be an object such as { status: 301 }; got ${options === null ? 'null' : typeof options}`);
  }
  const status = options?.status ?? 308;
  if (!Object.hasOwn(STATUS_LINES, status)) {
    throw new TypeError(`httpsRedirect() status must be 301, 302, 307 or 308; got ${JSON.stringify(status)}`);
  }
  const port = options?.httpsPort;
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new TypeError(`httpsRedirect() httpsPort must be an integer from 1 to 65535 (or left out to keep the request's port); got ${JSON.stringify(port)}`);
  }
  return {
    status,
    statusLine: STATUS_LINES[status],
    httpsPort: port === undefined ? null : port === 443 ? '' : String(port),
  };
}
