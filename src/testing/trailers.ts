/**
 * Response trailers (`http.response.trailers`, docs/spec.md §10). A `Response` has no place for
 * them, so the client files them by response and `trailersOf(response)` hands them over once the
 * body has been read to its end.
 */
const registry = new WeakMap<Response, Promise<Headers>>();

export function registerTrailers(response: Response, trailers: Promise<Headers>): void {
  registry.set(response, trailers);
}

/**
 * The trailers an event app sent after the body of `response` (empty `Headers` when it sent none).
 * Resolves once the body has been read to its end; rejects when the body failed.
 */
export function trailersOf(response: Response): Promise<Headers> {
  const trailers = registry.get(response);
  if (trailers === undefined) throw new TypeError('trailersOf() takes a Response returned by a TestClient');
  return trailers;
}
