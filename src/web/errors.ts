import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problemBody } from '../api/problem.ts';
import { isApiUrl } from '../api/request.ts';
import type { Config } from '../config.ts';
import { languageFromHeader, languages, translator } from '../i18n/i18n.ts';
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
  // a URL longer than the router or Node's HTTP parser takes (a pasted search text, a made-up number)
  if (status === 414 || status === 431) return { title: 'errors.server_title', text: 'errors.url_too_long' };
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

// Errors the router meets before any route or hook runs (a path segment over maxParamLength, a
// malformed URL): without this Fastify answers them with its own English JSON. No hook has run and
// the reply has none of the app's decorations: no session or user (the language comes from
// Accept-Language or the default), no view engine and none of helmet's headers, so the answer is
// the short error text as text/plain for a page as for htmx, never a page without its CSP.
export function frameworkErrorHandler(config: Config) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : (error.statusCode ?? 400);
    request.log.info({ code: error.code, status }, error.message);
    // the REST API answers every error as a problem document (src/api/problem.ts)
    if (isApiUrl(request.url))
      return reply
        .code(status)
        .type('application/problem+json; charset=utf-8')
        .send(JSON.stringify(problemBody(status, status === 414 ? 'A part of the path is too long.' : undefined)));
    setLanguage(request, config);
    return reply
      .code(status)
      .header('x-content-type-options', 'nosniff')
      .type('text/plain; charset=utf-8')
      .send(request.t(messageFor(error, status).text));
  };
}

// Node's HTTP parser refuses a request line and headers over its limit (16 KB: a search text pasted
// at 100 KB) before Fastify or any route sees it: only the socket is there, and Fastify's default
// answer is English JSON. This one is the short error text as text/plain, which the htmx error
// display (public/app.js) and a browser both show as it is. Its language: Accept-Language when it
// is among the bytes the parser got; otherwise the headers that name it are what did not fit (no
// session either), so every language, the default first.
export function clientErrorHandler(config: Config) {
  const inEveryLanguage = (key: string) =>
    [config.defaultLanguage, ...languages.filter((l) => l !== config.defaultLanguage)]
      .map((language) => translator(language)(key))
      .join('\n\n');
  const inReadersLanguage = (key: string, raw: unknown) => {
    const header = Buffer.isBuffer(raw) && /\r\naccept-language:([^\r\n]*)\r\n/i.exec(raw.toString('latin1'))?.[1];
    const language = languageFromHeader(header || undefined);
    return language ? translator(language)(key) : inEveryLanguage(key);
  };
  return (error: Error & { code?: string; rawPacket?: unknown }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, text] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, inReadersLanguage('errors.url_too_long', error.rawPacket)]
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, inEveryLanguage('errors.server')]
          : [400, inReadersLanguage('errors.invalid', error.rawPacket)];
    const body = Buffer.from(text);
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(body);
    }
    socket.destroy(error);
  };
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
