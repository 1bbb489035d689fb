/**
 * `tsgi.input` and `tsgi.errors` as the app sees them under `validate()` (docs/spec.md §3, §4):
 * each call is checked on the way in (the app's arguments) and on the way out (what the server's
 * stream returned), and otherwise forwarded as is: the server's own errors (a synchronous read of
 * a streamed body) reach the app unchanged, and async iteration pulls one chunk from the server
 * per chunk the app asks for, so the server's backpressure still holds.
 */
import { show, type Report } from './violation.js';

/**
 * `overrides` in front of `original`: the checked methods come from `overrides`, every other
 * property (a server's extras) from `original`. A Proxy over `overrides`, not over `original`,
 * because a frozen original (the server's shared error stream) may not report other values for
 * its own properties.
 */
function overlay<T extends object>(original: T, overrides: object): T {
  return new Proxy(overrides, {
    get(target, key) {
      if (Object.prototype.hasOwnProperty.call(target, key)) return Reflect.get(target, key);
      const value = Reflect.get(original, key, original);
      return typeof value === 'function' ? value.bind(original) : value;
    },
    has: (target, key) => key in target || key in original,
    set: (_target, key, value) => Reflect.set(original, key, value, original),
    getPrototypeOf: () => Object.getPrototypeOf(original),
  }) as unknown as T;
}

type Method = (...args: unknown[]) => unknown;

export function wrapInput(input: Record<PropertyKey, unknown>, report: Report): unknown {
  const checkSize = (method: string, args: unknown[]) => {
    const size = args[0];
    if (size !== undefined && (typeof size !== 'number' || Number.isNaN(size))) {
      throw report(
        'input.read-size',
        '§3',
        'app',
        `tsgi.input.${method}() got the size ${show(size)}`,
        `pass a number of bytes, or nothing to ${method === 'readlines' ? 'read every line' : 'read to the end'}`,
      );
    }
  };
  const badBytes = (method: string, value: unknown) =>
    report(
      'input.result',
      '§3',
      'server',
      `tsgi.input.${method}() returned ${show(value)}, not a Uint8Array`,
      'return the body bytes as a Uint8Array (an empty one at the end)',
    );
  const call = (method: string, args: unknown[]) => (input[method] as Method).apply(input, args);
  return overlay(input, {
    read(...args: unknown[]): unknown {
      checkSize('read', args);
      const result = call('read', args);
      if (!(result instanceof Uint8Array)) throw badBytes('read', result);
      return result;
    },
    readline(...args: unknown[]): unknown {
      checkSize('readline', args);
      const result = call('readline', args);
      if (!(result instanceof Uint8Array)) throw badBytes('readline', result);
      return result;
    },
    readlines(...args: unknown[]): unknown {
      checkSize('readlines', args);
      const result = call('readlines', args);
      if (!Array.isArray(result)) throw badBytes('readlines', result);
      for (const line of result) if (!(line instanceof Uint8Array)) throw badBytes('readlines', line);
      return result;
    },
    [Symbol.asyncIterator](): AsyncIterator<unknown> {
      const inner = (input[Symbol.asyncIterator] as () => AsyncIterator<unknown>).call(input);
      // Pulls from the server only when the app pulls: no read-ahead, no buffering.
      return {
        next: (...args: [] | [unknown]) =>
          Promise.resolve(inner.next(...args)).then((step) => {
            if (step.done !== true && !(step.value instanceof Uint8Array)) throw badBytes('[Symbol.asyncIterator]().next()', step.value);
            return step;
          }),
        return: (value?: unknown) =>
          typeof inner.return === 'function' ? inner.return(value) : Promise.resolve({ done: true as const, value }),
        throw: (error?: unknown) => (typeof inner.throw === 'function' ? inner.throw(error) : Promise.reject(error)),
      };
    },
  });
}

export function wrapErrors(errors: Record<string, unknown>, report: Report): unknown {
  const notText = (method: string, value: unknown, wanted = 'a string') =>
    report(
      'errors.write',
      '§4',
      'app',
      `tsgi.errors.${method}() got ${show(value)}, not ${wanted}`,
      'convert it first, e.g. with String(value) or JSON.stringify(value)',
    );
  return overlay(errors, {
    write(text: unknown): unknown {
      if (typeof text !== 'string') throw notText('write', text);
      return (errors.write as Method).call(errors, text);
    },
    writelines(lines: unknown): unknown {
      if (lines === null || (typeof lines !== 'object' && typeof lines !== 'string') || typeof (lines as Iterable<unknown>)[Symbol.iterator] !== 'function') {
        throw notText('writelines', lines, 'an iterable of strings');
      }
      // Iterated once here, so the server gets the same lines as an array.
      const list = [...(lines as Iterable<unknown>)];
      for (const line of list) if (typeof line !== 'string') throw notText('writelines', line);
      return (errors.writelines as Method).call(errors, list);
    },
    flush(): unknown {
      return (errors.flush as Method).call(errors);
    },
  });
}
