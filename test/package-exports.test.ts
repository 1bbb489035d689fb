/**
 * The import paths the README and docs promise resolve through package.json's "exports" to the
 * built files, with the names they document: what `import … from 'tsgi/middleware'` gives a user.
 * Needs dist/ (npm test builds it first).
 */
import { describe, expect, it } from 'vitest';

// Specifiers in variables: resolved by Node at run time, as in a user's project, not by tsc.
const entry = (path: string) => import(path) as Promise<Record<string, unknown>>;

describe('package exports', () => {
  it("'tsgi' has the server, defineEventApp and the bridges", async () => {
    const tsgi = await entry('tsgi');
    for (const name of ['serve', 'run', 'defineEventApp', 'gatewayToEvent', 'eventToGateway']) expect(typeof tsgi[name], name).toBe('function');
  });

  it("'tsgi/middleware' has every middleware", async () => {
    const middleware = await entry('tsgi/middleware');
    const names = ['mount', 'staticFiles', 'compress', 'cors', 'trustedHosts', 'httpsRedirect', 'validate', 'compose', 'ContractViolation'];
    for (const name of names) expect(typeof middleware[name], name).toBe('function');
  });

  it("'tsgi/testing' has TestClient, and it runs an app", async () => {
    const testing = await entry('tsgi/testing');
    const TestClient = testing.TestClient as new (app: unknown) => { get(path: string): Promise<Response> };
    const client = new TestClient((_environ: unknown, startResponse: (status: string, headers: [string, string][]) => void) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['from the package'];
    });
    expect(await (await client.get('/')).text()).toBe('from the package');
  });
});
