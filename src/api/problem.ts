import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { StaleEditError } from '../cases/cases.ts';
import { FormKeyReusedError } from '../db/form-keys.ts';
import { FormError } from '../forms/form.ts';
import { translator } from '../i18n/i18n.ts';

// Errors as RFC 9457 problems (application/problem+json): a status, a title, a detail a person
// can act on, and for a refused body each field with its reason.

export type FieldProblem = { field: string; message: string };
export type Problem = { type: string; title: string; status: number; detail?: string; errors?: FieldProblem[] };

export class ApiProblem extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail?: string,
    readonly extra: { errors?: FieldProblem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? STATUS_CODES[statusCode] ?? 'Error');
  }
}

export const problem = (status: number, detail?: string, extra?: ApiProblem['extra']) =>
  new ApiProblem(status, detail, extra);

const english = translator('en');
// PostgreSQL refusing what a request carried (a NUL byte, a number out of range): bad input.
const badInputSqlStates = new Set(['22021', '22P05', '22003', '22007', '22008', '22P02']);

// A problem of a status; the title is the status's own name (type about:blank, RFC 9457 4.2.1).
export const problemBody = (status: number, detail?: string, errors?: FieldProblem[]): Problem => ({
  type: 'about:blank',
  title: STATUS_CODES[status] ?? 'Error',
  status,
  ...(detail ? { detail } : {}),
  ...(errors?.length ? { errors } : {}),
});

function problemOf(error: FastifyError | Error): Problem & { headers?: Record<string, string> } {
  const make = problemBody;
  if (error instanceof ApiProblem) {
    return { ...make(error.statusCode, error.detail, error.extra.errors), headers: error.extra.headers };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const errors = error.validation.map((v) => ({
      field: [error.validationContext, v.instancePath.replace(/^\//, '').replaceAll('/', '.')]
        .filter(Boolean)
        .join('.'),
      message: v.message ?? 'is not valid',
    }));
    return make(422, 'The request was not valid; each refused field is listed.', errors);
  }
  if (error instanceof FormError) {
    const errors = Object.entries(error.fields).map(([field, key]) => ({ field, message: english(key) }));
    return make(422, 'The request was not valid; each refused field is listed.', errors);
  }
  if (error instanceof StaleEditError) {
    return {
      ...make(412, `The case was changed since that version; it is at version ${error.current.version} now.`),
      headers: { etag: `"${error.current.version}"` },
    };
  }
  if (error instanceof FormKeyReusedError)
    return make(409, 'This Idempotency-Key was used for another request; use a new key for a new request.');
  const code = (error as FastifyError).code;
  if (badInputSqlStates.has(code) && typeof (error as { severity?: unknown }).severity === 'string')
    return make(400, 'A value in the request could not be stored (a NUL byte, or a number out of range).');
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return make(415, 'Send the body as application/json.');
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return make(400, 'The JSON body is empty.');
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError)
    return make(400, 'The body is not valid JSON.');
  const status = (error as FastifyError).statusCode ?? 500;
  if (status >= 500 || isResponseSerializationError(error)) return make(500, 'Something went wrong on our side.');
  return make(status, status === 413 ? 'The body is too large.' : undefined);
}

export async function sendProblem(request: FastifyRequest, reply: FastifyReply, error: FastifyError | Error) {
  const { headers, ...body } = problemOf(error);
  if (body.status >= 500) request.log.error({ err: error }, 'API request failed');
  if (body.status >= 500 && process.env.DEBUG_API) console.error(error);
  else request.log.info({ status: body.status }, body.detail ?? body.title);
  if (headers) reply.headers(headers);
  return reply.code(body.status).type('application/problem+json; charset=utf-8').send(JSON.stringify(body));
}
