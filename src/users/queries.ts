import type { ExpressionBuilder } from 'kysely';
import { cachedRead, deepFreeze } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import type { Database, User } from '../db/schema.ts';

export function normalizeLogin(login: string): string {
  return login.trim().toUpperCase();
}

// A form's optional responsible: none chosen, or an active user. Works inside the caller's
// transaction, beside its other reference checks.
export async function isNoneOrActiveUser(db: Db, id: number | null | undefined): Promise<boolean> {
  if (!id) return true;
  return Boolean((await db.selectNoFrom((eb) => activeUserExists(eb, id).as('ok')).executeTakeFirstOrThrow()).ok);
}

// isNoneOrActiveUser's check as a part of the caller's own query (the case form's checks, one
// round trip for all of them).
export function activeUserExists(eb: ExpressionBuilder<Database, never>, id: number) {
  return eb.exists(eb.selectFrom('users').select('id').where('id', '=', id).where('active', '=', true));
}

export async function findUserById(db: Db, id: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserByLogin(db: Db, login: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('login', '=', normalizeLogin(login)).executeTakeFirst();
}

export async function listUsers(db: Db, opts: { includeInactive: boolean }): Promise<User[]> {
  let q = db.selectFrom('users').selectAll().orderBy('login');
  if (!opts.includeInactive) q = q.where('active', '=', true);
  return q.execute();
}

// Who can be picked (responsible, work order assignee): on most pages, so from this process's
// cache, dropped when any instance changes a user (src/db/cached.ts).
export async function listActiveUsers(db: Db) {
  return cachedRead(db, 'active-users', ['users'], async () =>
    deepFreeze(
      await db.selectFrom('users').select(['id', 'login', 'name']).where('active', '=', true).orderBy('name').execute(),
    ),
  );
}

// The user behind each request's session, from this process's cache: dropped when any instance
// writes users (src/db/cached.ts), so a deactivation or a password change is seen at once. A copy,
// as the request may add to it.
export async function findSessionUser(db: Db, id: number): Promise<User | undefined> {
  const user = await cachedRead(db, `session-user:${id}`, ['users'], () => findUserById(db, id));
  return user ? { ...user } : undefined;
}
