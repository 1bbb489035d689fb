/** staticFiles() around a gateway app (environ, startResponse). */
import type { AnyBody, Environ, GatewayApp, StartResponse } from '../../spec/types.js';
import { environHeader } from '../shared/headers.js';
import { FileBody } from './file-body.js';
import type { StaticConfig } from './options.js';
import { planResponse } from './plan.js';
import { statusLine } from './status.js';

export function staticGateway(inner: GatewayApp, config: StaticConfig): GatewayApp {
  return (environ, startResponse) => {
    const method = environ.REQUEST_METHOD;
    // Other methods go straight through, synchronously, without touching the filesystem.
    if (method !== 'GET' && method !== 'HEAD') return inner(environ, startResponse);
    return serve(inner, config, environ, startResponse, method);
  };
}

async function serve(
  inner: GatewayApp,
  config: StaticConfig,
  environ: Environ,
  startResponse: StartResponse,
  method: 'GET' | 'HEAD',
): Promise<AnyBody> {
  const plan = await planResponse(config, {
    method,
    path: environ.PATH_INFO,
    mount: environ.SCRIPT_NAME,
    query: environ.QUERY_STRING,
    header: (name) => environHeader(environ, name),
  });
  // The inner app's body (and its close()) reaches the server untouched.
  if (plan.kind === 'pass') return inner(environ, startResponse);
  const body = plan.body;
  if (body === null || body instanceof Uint8Array) {
    startResponse(statusLine(plan.status), plan.headers);
    return body === null ? [] : [body];
  }
  const fileBody = new FileBody(body);
  try {
    startResponse(statusLine(plan.status), plan.headers);
  } catch (error) {
    await fileBody.close();
    throw error;
  }
  return fileBody;
}
