import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { dummyHash, verifyPassword } from './password.ts';
import { findUserByLogin, normalizeLogin } from './queries.ts';

// Failures counted over a sliding window; past the limit, attempts are refused until the
// window has moved on. Counted per login+address, and per address over all logins.
export const loginWindowMinutes = 15;
export const maxFailuresPerLogin = 5;
export const maxFailuresPerAddress = 30;

export type LoginResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterMinutes: number };

export async function attemptLogin(
  db: Db,
  input: { login: string; password: string; ip: string },
): Promise<LoginResult> {
  const login = normalizeLogin(input.login).slice(0, 64);
  const since = new Date(Date.now() - loginWindowMinutes * 60_000);
  const counts = await db
    .selectFrom('login_attempts')
    .select([
      sql<number>`count(*) filter (where login = ${login})`.as('byLogin'),
      sql<number>`count(*)`.as('byAddress'),
    ])
    .where('ip', '=', input.ip)
    .where('succeeded', '=', false)
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  if (counts.byLogin >= maxFailuresPerLogin || counts.byAddress >= maxFailuresPerAddress) {
    return { ok: false, reason: 'throttled', retryAfterMinutes: loginWindowMinutes };
  }

  const user = await findUserByLogin(db, login);
  const hash = user?.password_hash ?? (await dummyHash);
  const passwordOk = await verifyPassword(input.password, hash);
  const ok = Boolean(user?.active && user.password_hash && passwordOk);
  await db.insertInto('login_attempts').values({ login, ip: input.ip, succeeded: ok }).execute();
  if (ok && user) {
    // A success clears this login's failures from this address.
    await db
      .deleteFrom('login_attempts')
      .where('login', '=', login)
      .where('ip', '=', input.ip)
      .where('succeeded', '=', false)
      .execute();
    return { ok: true, user };
  }
  return { ok: false, reason: 'invalid' };
}
