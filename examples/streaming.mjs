// Streams in both directions. An `async function` app is called as soon as the request head
// arrives: it reads the upload chunk by chunk (any size, with backpressure) and answers with an
// async generator, which tsgi sends chunked, waiting for the client whenever the socket is full.
export async function app(environ, startResponse) {
  let received = 0;
  for await (const chunk of environ['tsgi.input']) received += chunk.byteLength;
  const count = Number(new URLSearchParams(environ.QUERY_STRING).get('lines') ?? '5');
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return (async function* lines() {
    yield `received ${received} bytes\n`;
    for (let i = 1; i <= count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      yield `line ${i}\n`;
    }
  })();
}
