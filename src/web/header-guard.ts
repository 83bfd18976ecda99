import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { isSameSitePath } from './redirect.ts';

// Headers that send the browser somewhere: only to a path on this site.
const redirectHeaders = new Set(['location', 'hx-redirect']);

export class UnsendableHeaderError extends Error {
  readonly statusCode = 500;
  constructor(readonly header: string) {
    super(`Refusing to send the response header ${header}`);
  }
}

function isSendable(name: string, value: unknown): boolean {
  try {
    validateHeaderName(name);
    for (const v of Array.isArray(value) ? value : [value]) validateHeaderValue(name, v);
  } catch {
    return false;
  }
  return !redirectHeaders.has(name.toLowerCase()) || isSameSitePath(String(value));
}

// The last onSend hook. Node checks the headers only when it writes them, after every hook has
// run and outside any handler, where a throw (say, a Location with a line break) cannot become an
// answer and ended the process. Here the header is dropped instead, and the request answers 500
// through the error handler like any other fault.
export function registerHeaderGuard(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (isSendable(name, value)) continue;
      reply.removeHeader(name);
      throw new UnsendableHeaderError(name);
    }
  });
}
