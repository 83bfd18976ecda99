import { inspect } from 'node:util';

// One line a person can act on, whatever was thrown. Libraries reject with undefined, with plain
// strings, with an AggregateError that has no message of its own (a connection refused on every
// address) or with an Error whose cause holds the reason; printing those as they are says
// "undefined" or nothing at all.
export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) {
    const inner = [...new Set(error.errors.map(errorMessage))].join('; ');
    return error.message ? `${error.message}: ${inner}` : inner;
  }
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : '';
    const text = error.message || code || error.name;
    return error.cause === undefined ? text : `${text} (${errorMessage(error.cause)})`;
  }
  if (typeof error === 'string' && error.trim()) return error;
  if (error === undefined || error === null || error === '') return 'an unknown error (it came without any details)';
  return inspect(error, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
}
