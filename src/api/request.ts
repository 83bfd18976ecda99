import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { type CaseView, findCaseByNumber } from '../cases/queries.ts';
import type { Db } from '../db/database.ts';
import { problem } from './problem.ts';

export const apiPrefix = '/api/v1';

export const isApiUrl = (url: string) =>
  url === apiPrefix || url.startsWith(`${apiPrefix}/`) || url.startsWith(`${apiPrefix}?`);

// The Idempotency-Key of a POST, as the one-time key of the forms (src/db/form-keys.ts): a
// repeat with the same key and body gets the first request's result. Scoped to the user, so
// two clients that pick the same key never meet.
export function idempotencyKeyOf(request: FastifyRequest): string | null {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(raw))
    throw problem(400, 'Idempotency-Key must be one value of 1 to 255 visible ASCII characters.');
  const userId = request.user?.id ?? 0;
  return createHash('sha256').update(`api:${userId}:${raw}`).digest('base64url');
}

// If-Match: "7" (the ETag a GET gave), or 7. Required to change what has a version (a case, its
// internal note), so no change is made over one the client has not seen.
export function versionOf(header: string | string[] | undefined, what: string): number {
  if (header === undefined)
    throw problem(428, `Send If-Match with the version of ${what} the change is based on (the ETag of GET).`);
  const match = typeof header === 'string' ? /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header) : null;
  if (!match) throw problem(400, 'If-Match must be one version, as the ETag of GET gives it ("7").');
  return Number(match[1]);
}

// The case a path names, as the case page reads it; a 404 problem when there is none.
export async function caseFromPath(db: Db, number: string): Promise<CaseView> {
  const kase = await findCaseByNumber(db, number);
  if (!kase) throw problem(404, `No case ${number}.`);
  return kase;
}
