/**
 * The apps in examples/, tested in process with the TestClient (tsgi/testing), as a user would
 * test their own app. test/cli.test.ts serves the same files through the real command.
 */
import { describe, expect, it } from 'vitest';
import { TestClient, WebSocketRefused } from '../src/testing/index.js';
import { fromNodeHandler, type EventApp, type GatewayApp, type NodeHandler } from '../src/index.js';

/** examples/ are plain .mjs files without type declarations: loaded by URL, typed here. */
async function example<A>(name: string): Promise<A> {
  const module = (await import(new URL(`../examples/${name}`, import.meta.url).href)) as { app: A };
  return module.app;
}

const decoder = new TextDecoder();

describe('examples/hello.mjs', () => {
  it('says hello', async () => {
    const client = new TestClient(await example<GatewayApp>('hello.mjs'));
    const response = await client.get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('content-length')).toBe('13');
    expect(await response.text()).toBe('Hello, world!');
  });
});

describe('examples/echo.mjs', () => {
  it('echoes the body with its content type and the method', async () => {
    const client = new TestClient(await example<GatewayApp>('echo.mjs'));
    const response = await client.post('/', { body: '{"ping":1}', headers: { 'Content-Type': 'application/json' } });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-echo-method')).toBe('POST');
    expect(await response.json()).toEqual({ ping: 1 });
  });

  it('answers bytes without a type as application/octet-stream', async () => {
    const client = new TestClient(await example<GatewayApp>('echo.mjs'));
    const response = await client.put('/', { body: new Uint8Array([0, 1, 255]) });
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('x-echo-method')).toBe('PUT');
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([0, 1, 255]);
  });

  it('is buffered, so a body over maxBodySize gets 413', async () => {
    const client = new TestClient(await example<GatewayApp>('echo.mjs'), { maxBodySize: 8 });
    expect((await client.post('/', { body: '123456789' })).status).toBe(413);
  });
});

describe('examples/streaming.mjs', () => {
  it('counts a streamed upload and streams its lines back one by one', async () => {
    const client = new TestClient(await example<GatewayApp>('streaming.mjs'));
    const chunks = ['a'.repeat(1000), 'b'.repeat(2000), 'c'.repeat(500)];
    const upload = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks.shift();
        if (chunk === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    const response = await client.post('/?lines=3', { body: upload });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    expect(decoder.decode((await reader.read()).value)).toBe('received 3500 bytes\n');
    let rest = '';
    for (;;) {
      const step = await reader.read();
      if (step.done) break;
      rest += decoder.decode(step.value);
    }
    expect(rest).toBe('line 1\nline 2\nline 3\n');
  });
});

describe('examples/chat.mjs', () => {
  it('serves the page and answers 404 elsewhere', async () => {
    await using client = await TestClient.start(await example<EventApp>('chat.mjs'));
    const page = await client.get('/');
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>tsgi chat</title>');
    const head = await client.head('/');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await client.get('/missing')).status).toBe(404);
  });

  it('refuses websockets off /ws with 403 and close code 1008', async () => {
    await using client = await TestClient.start(await example<EventApp>('chat.mjs'));
    const error = await client.websocket('/elsewhere').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WebSocketRefused);
    expect(error).toMatchObject({ status: 403, code: 1008 });
  });

  it('broadcasts joins, messages and leaves to everyone in the room (kept in lifespan state)', async () => {
    await using client = await TestClient.start(await example<EventApp>('chat.mjs'));
    const alice = await client.websocket('/ws');
    const aliceJoined = await alice.receiveText();
    expect(aliceJoined).toMatch(/^\* guest-\w+ joined \(1 here\)$/);
    const aliceName = /guest-\w+/.exec(aliceJoined)![0];

    const bob = await client.websocket('/ws');
    const bobJoined = await bob.receiveText();
    expect(bobJoined).toMatch(/^\* guest-\w+ joined \(2 here\)$/);
    expect(await alice.receiveText()).toBe(bobJoined);

    alice.send('hello, bob');
    expect(await alice.receiveText()).toBe(`${aliceName}: hello, bob`);
    expect(await bob.receiveText()).toBe(`${aliceName}: hello, bob`);

    await alice.close();
    expect(await bob.receiveText()).toBe(`* ${aliceName} left`);
    await bob.close();
  });
});

describe('examples/express.mjs (an Express 5 app through fromNodeHandler)', () => {
  async function expressClient(): Promise<TestClient> {
    const module = (await import(new URL('../examples/express.mjs', import.meta.url).href)) as { default: NodeHandler };
    return new TestClient(fromNodeHandler(module.default));
  }

  it('routes, answers JSON with the query, and reads a JSON body with express.json()', async () => {
    const client = await expressClient();
    const hello = await client.get('/');
    expect(hello.status).toBe(200);
    expect(await hello.text()).toBe('Hello from Express on tsgi!');
    expect(await (await client.get('/json?q=tsgi')).json()).toEqual({ ok: true, path: '/json', query: 'tsgi', ip: '127.0.0.1' });
    const echo = await client.post('/echo', { body: '{"n":[1,2]}', headers: { 'Content-Type': 'application/json' } });
    expect(await echo.json()).toEqual({ received: { n: [1, 2] } });
  });

  it('sets two cookies as two Set-Cookie headers', async () => {
    const response = await (await expressClient()).get('/cookies');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  });

  it('streams the countdown line by line and serves files with express.static', async () => {
    const client = await expressClient();
    const countdown = await client.get('/countdown?from=2');
    expect(countdown.headers.get('content-length')).toBeNull();
    expect(await countdown.text()).toBe('2\n1\nliftoff\n');
    const css = await client.get('/static/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toContain(':root');
    expect((await client.get('/static/missing.css')).status).toBe(404);
  });
});
