import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './database.ts';

// Every create form carries a one-time key, made when the form is rendered (a hidden form_key
// field) and new with each rendering. The work a form does runs under its key: a second submit
// of the same rendering (a double click, F2 twice, a resend after an answer that got lost) gets
// the first one's result instead of a second reply, case or mail. A submit without a key (an old
// page, a script) works as it always did, once per request.

export const formKeyPattern = /^[A-Za-z0-9_-]{16,64}$/;

export function newFormKey(): string {
  return randomBytes(16).toString('base64url');
}

// The same key on another form, by another user, or with other content: not a repeat, and not
// answered with someone else's result. The error handler answers 409.
export class FormKeyReusedError extends Error {
  readonly statusCode = 409;
  readonly code = 'CD_FORM_KEY_REUSED';
  constructor() {
    super('This form key was used for something else');
  }
}

export type FormSubmit = {
  key: string | null | undefined;
  userId: number;
  // the form's name, e.g. 'reply'; a key is good for one form only
  form: string;
  // what the form asked for, as parsed: a repeat must ask for the same
  content?: unknown;
};

function fingerprintOf(content: unknown): string | null {
  if (content === undefined) return null;
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

// Takes the submit's key inside the caller's transaction. null: the key is new, the caller does
// the work and stores its result with recordFormResult before committing. Otherwise the first
// submit's result. Two submits at once: the second insert waits on the first's uncommitted row;
// when that commits it finds the row (and its result), when it rolls back the insert goes ahead.
export async function claimFormKey<T>(trx: Db, submit: FormSubmit & { key: string }): Promise<{ result: T } | null> {
  const fingerprint = fingerprintOf(submit.content);
  const inserted = await trx
    .insertInto('form_submissions')
    .values({ key: submit.key, user_id: submit.userId, form: submit.form, fingerprint })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('key')
    .executeTakeFirst();
  if (inserted) return null;
  const first = await trx
    .selectFrom('form_submissions')
    .select(['user_id', 'form', 'fingerprint', 'result'])
    .where('key', '=', submit.key)
    .executeTakeFirstOrThrow();
  const same =
    first.user_id === submit.userId &&
    first.form === submit.form &&
    (first.fingerprint === null || fingerprint === null || first.fingerprint === fingerprint);
  if (!same || first.result === null) throw new FormKeyReusedError();
  return { result: first.result as T };
}

// Whether a submit with this key was stored: a caller may skip work it would only throw away
// (createCase's number). A read outside the transaction; oncePerFormKey still decides.
export async function isFormKeyUsed(db: Db, key: string): Promise<boolean> {
  const row = await db.selectFrom('form_submissions').select('key').where('key', '=', key).executeTakeFirst();
  return row !== undefined;
}

export async function recordFormResult(trx: Db, key: string, result: unknown): Promise<void> {
  await trx
    .updateTable('form_submissions')
    .set({ result: JSON.stringify(result ?? null) })
    .where('key', '=', key)
    .execute();
}

// The work of one submit, done once per key. Runs inside the caller's transaction; the result
// must be plain JSON (ids, numbers, strings), as a repeat gets it back from the database.
export async function oncePerFormKey<T>(trx: Db, submit: FormSubmit, work: () => Promise<T>): Promise<T> {
  const { key } = submit;
  if (!key) return work();
  const repeat = await claimFormKey<T>(trx, { ...submit, key });
  if (repeat) return repeat.result;
  const result = await work();
  await recordFormResult(trx, key, result);
  return result;
}

// A key only matters while someone might press the button again, or resend a page kept open.
export async function forgetOldFormKeys(db: Db, olderThanDays = 7): Promise<string | undefined> {
  const result = await db
    .deleteFrom('form_submissions')
    .where('created_at', '<', new Date(Date.now() - olderThanDays * 86_400_000))
    .executeTakeFirst();
  const count = Number(result.numDeletedRows);
  return count ? `${count} old form keys forgotten` : undefined;
}
