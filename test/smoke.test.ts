import { afterEach, expect, it } from 'vitest';
import { describeBackends, startServer, type TestServer } from './helpers.js';

describeBackends('hello on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('serves a synchronous app returning one chunk', async () => {
    server = await startServer((_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['Hello, world!'];
    }, backend);
    const response = await fetch(server.url + '/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('13');
    expect(response.headers.get('server')).toBe('tsgi');
    expect(await response.text()).toBe('Hello, world!');
    expect(server.server.backend).toBe(backend);
  });
});
