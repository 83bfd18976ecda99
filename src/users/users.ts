import { z } from 'zod';
import { revokeTokensOfUser } from '../api/tokens.ts';
import { reassignApprovalsOfDeactivatedUser } from '../approvals/chains.ts';
import type { Config } from '../config.ts';
import { tablesChanged } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import { uniqueViolation } from '../db/errors.ts';
import type { User } from '../db/schema.ts';
import { checkbox, type FieldErrors, FormError, optionalText, requiredText, singleLine } from '../forms/form.ts';
import { attemptLogin, type LoginResult } from './login.ts';
import { generatePassword, hashPassword } from './password.ts';
import { findUserByLogin, normalizeLogin } from './queries.ts';
import { endSessionsOfUser } from './sessions.ts';

export const passwordSchema = z.string().min(10, 'errors.password_short').max(200, 'errors.too_long');

export const userSchema = z.object({
  login: z
    .string()
    .transform(normalizeLogin)
    .pipe(
      z
        .string()
        .min(1, 'errors.required')
        .regex(/^[A-Z0-9_.-]{1,32}$/, 'errors.login_format'),
    ),
  name: requiredText(100),
  initials: singleLine()
    .default('')
    .pipe(z.string().max(3, 'errors.initials_format'))
    .transform((s) => s.toUpperCase()),
  email: optionalText(200).pipe(z.email('errors.email').nullable()),
  role: z.enum(['admin', 'agent'], 'errors.required'),
  language: z
    .enum(['', 'sv', 'en'])
    .default('')
    .transform((v) => (v === '' ? null : v)),
});
export type UserInput = z.output<typeof userSchema>;

export function initialsOf(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? `${parts[0]?.[0]}${parts.at(-1)?.[0]}` : (parts[0]?.slice(0, 2) ?? '');
  return letters.toUpperCase();
}

function loginTaken(error: unknown): FormError | null {
  return uniqueViolation(error) === 'users_login_key' ? new FormError({ login: 'errors.login_taken' }) : null;
}

export async function createUser(db: Db, input: UserInput, password?: string): Promise<User> {
  const errors: FieldErrors = {};
  if (password !== undefined) {
    const parsed = passwordSchema.safeParse(password);
    if (!parsed.success) errors.password = parsed.error.issues[0]?.message ?? 'errors.invalid';
  }
  if (Object.keys(errors).length) throw new FormError(errors);
  try {
    const user = await db
      .insertInto('users')
      .values({
        ...input,
        initials: input.initials || initialsOf(input.name),
        password_hash: password ? await hashPassword(password) : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    tablesChanged(db, 'users');
    return user;
  } catch (error) {
    throw loginTaken(error) ?? error;
  }
}

// There is always at least one active admin, or nobody could manage the users again; and admins
// do not take away their own admin rights (as they cannot deactivate themselves), which would
// also lock them out of the page they are on. What a change that makes targetId stop being an
// active admin (a demotion or a deactivation) runs into, given who the active admins are now.
export function adminLossRefusal(
  targetId: number,
  activeAdminIds: readonly number[],
  actorId?: number,
): 'self' | 'last_admin' | null {
  if (!activeAdminIds.includes(targetId)) return null;
  if (actorId === targetId) return 'self';
  return activeAdminIds.some((id) => id !== targetId) ? null : 'last_admin';
}

// Locks every active admin's row until the transaction ends: two admins demoting (or
// deactivating) each other at once would otherwise each see the other one stay and leave none.
// The second waits here for the first to commit and then no longer finds the first's target.
async function lockActiveAdmins(trx: Db): Promise<number[]> {
  const rows = await trx
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('active', '=', true)
    .orderBy('id')
    .forUpdate()
    .execute();
  return rows.map((row) => row.id);
}

// actorId: the admin making the change, who may not demote themself.
export async function updateUser(db: Db, id: number, input: UserInput, actorId?: number): Promise<User> {
  try {
    const user = await db.transaction().execute(async (trx) => {
      if (input.role !== 'admin') {
        const refusal = adminLossRefusal(id, await lockActiveAdmins(trx), actorId);
        if (refusal)
          throw new FormError({ role: refusal === 'self' ? 'users.cannot_demote_self' : 'users.last_admin' });
      }
      return trx
        .updateTable('users')
        .set({ ...input, initials: input.initials || initialsOf(input.name), updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    tablesChanged(db, 'users');
    return user;
  } catch (error) {
    throw loginTaken(error) ?? error;
  }
}

// A new password ends the user's other sessions: whoever knew the old one is logged out. When
// users change their own, the session they do it in (keepSession) stays; it must then carry the
// returned session generation.
export async function setUserPassword(
  db: Db,
  id: number,
  password: string,
  keepSession?: string,
): Promise<{ sessionGeneration: number }> {
  const parsed = passwordSchema.safeParse(password);
  if (!parsed.success) throw new FormError({ password: parsed.error.issues[0]?.message ?? 'errors.invalid' });
  const hash = await hashPassword(password);
  const result = await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ password_hash: hash, updated_at: new Date() }).where('id', '=', id).execute();
    return { sessionGeneration: await endSessionsOfUser(trx, id, keepSession) };
  });
  // this process's next request must not find the ended sessions in its cache (src/db/cached.ts)
  tablesChanged(db, 'users', 'sessions');
  return result;
}

// What users type to change their own password on My settings. The new one follows the same
// rules as an admin's.
export const passwordChangeSchema = z
  .object({
    current_password: z.string('errors.required').min(1, 'errors.required'),
    new_password: passwordSchema,
    repeat_password: z.string('errors.required'),
  })
  .refine((form) => form.new_password === form.repeat_password, {
    path: ['repeat_password'],
    message: 'errors.password_mismatch',
  });
export type PasswordChange = z.output<typeof passwordChangeSchema>;

export type PasswordChangeResult =
  | { ok: true; sessionGeneration: number }
  | { ok: false; reason: 'wrong_password' }
  | Extract<LoginResult, { reason: 'throttled' }>;

// Users changing their own password prove the current one first, through the login throttle, so
// that someone at an unattended, logged-in computer cannot guess it any faster than at the login
// page. Their other sessions end; the one they do it in (keepSession) stays and must then carry
// the returned session generation.
export async function changeOwnPassword(
  db: Db,
  user: Pick<User, 'id' | 'login'>,
  input: PasswordChange,
  context: { ip: string; keepSession: string },
): Promise<PasswordChangeResult> {
  const check = await attemptLogin(db, { login: user.login, password: input.current_password, ip: context.ip });
  if (!check.ok && check.reason === 'throttled') return check;
  if (!check.ok || check.user.id !== user.id) return { ok: false, reason: 'wrong_password' };
  return { ok: true, ...(await setUserPassword(db, user.id, input.new_password, context.keepSession)) };
}

export async function setUserLanguage(db: Db, id: number, language: 'sv' | 'en'): Promise<void> {
  await db.updateTable('users').set({ language, updated_at: new Date() }).where('id', '=', id).execute();
  tablesChanged(db, 'users');
}

// What each user sets for themself on "My settings".
export const accountSettingsSchema = z.object({
  email_on_mention: checkbox,
  email_on_assigned: checkbox,
  language: userSchema.shape.language,
});
export type AccountSettings = z.output<typeof accountSettingsSchema>;

export async function saveAccountSettings(db: Db, id: number, input: AccountSettings): Promise<void> {
  await db
    .updateTable('users')
    .set({
      email_on_mention: input.email_on_mention,
      email_on_assigned: input.email_on_assigned,
      language: input.language,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
  tablesChanged(db, 'users');
}

// A deactivated user is logged out everywhere at once: their sessions are deleted. Refused with
// a FormError (on "active") for the admin's own account (actorId) and for the last active admin.
// config, when given, lets the admins who take over someone's approvals hear of it by e-mail too
export async function setUserActive(
  db: Db,
  id: number,
  active: boolean,
  config?: Config,
  actorId?: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!active) {
      const refusal = actorId === id ? 'self' : adminLossRefusal(id, await lockActiveAdmins(trx), actorId);
      if (refusal) {
        throw new FormError({ active: refusal === 'self' ? 'users.cannot_deactivate_self' : 'users.last_admin' });
      }
    }
    await trx.updateTable('users').set({ active, updated_at: new Date() }).where('id', '=', id).execute();
    // and a session written back meanwhile does not return with a reactivation
    if (!active) await endSessionsOfUser(trx, id);
    // and their API tokens end for good (a reactivation does not bring them back)
    if (!active) await revokeTokensOfUser(trx, id);
    // approvals waiting for them go to a colleague of the step, or to the admins
    if (!active) await reassignApprovalsOfDeactivatedUser(trx, id, config);
  });
  tablesChanged(db, 'users', 'sessions', 'api_tokens');
}

// First start: the ADMIN user exists with ADMIN_PASSWORD, or a generated password that the
// caller prints once. Later starts leave ADMIN alone.
export async function ensureAdminUser(db: Db, configuredPassword?: string): Promise<{ generatedPassword?: string }> {
  if (await findUserByLogin(db, 'ADMIN')) return {};
  const password = configuredPassword ?? generatePassword();
  const hash = await hashPassword(password);
  const inserted = await db
    .insertInto('users')
    .values({ login: 'ADMIN', name: 'Administrator', initials: 'AD', role: 'admin', password_hash: hash })
    .onConflict((oc) => oc.column('login').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted && !configuredPassword ? { generatedPassword: password } : {};
}
