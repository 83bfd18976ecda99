import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { setLanguage, viewContext } from './context.ts';
import { isHtmx } from './render.ts';

const csrfCodes = new Set(['FST_CSRF_INVALID_TOKEN', 'FST_CSRF_MISSING_SECRET']);
// PostgreSQL refusing what a request carried (a NUL byte in text, a number out of range, a bad
// date): the request was bad, not the server.
const badInputSqlStates = new Set(['22021', '22P05', '22003', '22007', '22008', '22P02']);
const isBadInput = (error: FastifyError) =>
  badInputSqlStates.has(error.code) && typeof (error as { severity?: unknown }).severity === 'string';

function messageFor(error: FastifyError, status: number): { title: string; text: string } {
  if (csrfCodes.has(error.code)) return { title: 'errors.forbidden_title', text: 'errors.csrf' };
  if (status === 403) return { title: 'errors.forbidden_title', text: 'errors.forbidden' };
  if (status === 404) return { title: 'errors.not_found_title', text: 'errors.not_found' };
  if (error.code === 'CD_FORM_KEY_REUSED') return { title: 'errors.server_title', text: 'errors.form_key_reused' };
  if (status === 429) return { title: 'errors.server_title', text: 'errors.too_many' };
  // a body over the server's limit never reached a form's own check, so say what was wrong with it
  if (status === 413) return { title: 'errors.server_title', text: 'errors.body_too_large' };
  // a refused form or query says why (forms/form.ts)
  const key = (error as { messageKey?: unknown }).messageKey;
  if (status < 500 && typeof key === 'string') return { title: 'errors.server_title', text: key };
  if (status < 500) return { title: 'errors.server_title', text: 'errors.invalid' };
  return { title: 'errors.server_title', text: 'errors.server' };
}

async function renderError(
  request: FastifyRequest,
  reply: FastifyReply,
  config: Config,
  status: number,
  message: { title: string; text: string },
) {
  if (!request.t) setLanguage(request, config);
  reply.code(status).header('Vary', 'HX-Request');
  if (isHtmx(request)) {
    // htmx does not swap error responses; the client script shows this text in the alert area.
    return reply.type('text/plain; charset=utf-8').send(request.t(message.text));
  }
  if (!(request.headers.accept ?? '').includes('html') && request.method !== 'GET') {
    return reply.type('text/plain; charset=utf-8').send(request.t(message.text));
  }
  return reply.view('error', { ...viewContext(request, reply, config), status, message });
}

export function registerErrorHandlers(app: FastifyInstance, config: Config): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = csrfCodes.has(error.code) ? 403 : isBadInput(error) ? 400 : (error.statusCode ?? 500);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: error.code, status }, error.message);
    return renderError(request, reply, config, status, messageFor(error, status));
  });
  app.setNotFoundHandler(async (request, reply) =>
    renderError(request, reply, config, 404, { title: 'errors.not_found_title', text: 'errors.not_found' }),
  );
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message = 'HTTP error',
  ) {
    super(message);
  }
}

export const forbidden = () => new HttpError(403, 'Forbidden');
export const notFound = () => new HttpError(404, 'Not found');
