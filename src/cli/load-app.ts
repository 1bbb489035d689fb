/**
 * Resolves `MODULE[:EXPORT]` to the app function. Every failure is an `AppLoadError` whose
 * message is one line naming the module and the export, for the CLI to print before exit 2.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export class AppLoadError extends Error {}

export interface AppRef {
  modulePath: string;
  exportName: string | null;
}

/** Splits `MODULE[:EXPORT]`; a colon belongs to the module when what follows is not an identifier. */
export function parseAppRef(ref: string): AppRef {
  const colon = ref.lastIndexOf(':');
  if (colon > 0) {
    const exportName = ref.slice(colon + 1);
    if (/^[A-Za-z_$][\w$]*$/.test(exportName)) return { modulePath: ref.slice(0, colon), exportName };
  }
  return { modulePath: ref, exportName: null };
}

function firstLine(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const line = error.message.split('\n')[0]!.trim();
    return code !== undefined && !line.includes(code) ? `${error.name} [${code}]: ${line}` : `${error.name}: ${line}`;
  }
  return String(error);
}

function typeScriptHint(): string {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 6)) {
    return `Node ${process.versions.node} cannot run TypeScript; use Node >= 22.6 (with --experimental-strip-types before 23.6) or compile the app to .js`;
  }
  return 'run it with type stripping enabled: NODE_OPTIONS=--experimental-strip-types npx tsgi ...';
}

export async function loadApp(ref: string, cwd: string = process.cwd()): Promise<{ app: unknown; label: string }> {
  const { modulePath, exportName } = parseAppRef(ref);
  const absolute = path.resolve(cwd, modulePath);
  if (!existsSync(absolute)) throw new AppLoadError(`cannot load module ${modulePath}: no such file (${absolute})`);
  const extension = path.extname(absolute);
  if (!['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'].includes(extension)) {
    throw new AppLoadError(`cannot load module ${modulePath}: expected a .js, .mjs, .cjs or .ts file`);
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    const isTs = extension === '.ts' || extension === '.mts' || extension === '.cts';
    const code = (error as NodeJS.ErrnoException).code;
    if (isTs && (code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING')) {
      throw new AppLoadError(`cannot load module ${modulePath}: ${typeScriptHint()}`);
    }
    throw new AppLoadError(`cannot load module ${modulePath}: ${firstLine(error)}`);
  }
  const names = exportName !== null ? [exportName] : ['app', 'default'];
  // A CommonJS module's exports arrive as the default export; look inside it too.
  const commonJs = namespace.default !== null && typeof namespace.default === 'object' ? (namespace.default as Record<string, unknown>) : {};
  for (const name of names) {
    const candidate = namespace[name] ?? commonJs[name];
    if (candidate === undefined) continue;
    // An app may be an object: one with a fetch method (`export default app` from Hono), or a
    // Koa app (its callback() gives the Node listener).
    if (typeof candidate !== 'function' && !isAppObject(candidate)) {
      throw new AppLoadError(
        `${modulePath}:${name} is ${candidate === null ? 'null' : typeof candidate}, not an app: a function (environ, startResponse), ` +
          `an event app, a Node listener (req, res), an object with a fetch(request) method, or a Koa app`,
      );
    }
    return { app: candidate, label: `${modulePath}:${name}` };
  }
  const wanted = exportName !== null ? `no export named ${exportName}` : 'no export named app and no default export';
  throw new AppLoadError(`${modulePath} has ${wanted}; exports found: ${Object.keys(namespace).join(', ') || 'none'}`);
}

function isAppObject(candidate: unknown): boolean {
  if (candidate === null || typeof candidate !== 'object') return false;
  const methods = candidate as { fetch?: unknown; callback?: unknown };
  return typeof methods.fetch === 'function' || typeof methods.callback === 'function';
}
