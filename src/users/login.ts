import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { lockSpaces } from '../db/advisory-locks.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { dummyHash, verifyPassword } from './password.ts';
import { findUserByLogin, normalizeLogin } from './queries.ts';

// Failures counted over a sliding window. Past the limit for one login+address, attempts are
// refused until the window has moved on.
export const loginWindowMinutes = 15;
export const maxFailuresPerLogin = 5;
// Past this many failures from one address over all logins, each attempt from it waits before
// its answer, longer as failures grow, up to a bound. Many users may share one address (behind
// a proxy, in an office), so this only slows guessing: it never refuses a right password.
export const slowdownAfterFailuresPerAddress = 30;
const slowdownStepMs = 250;
const maxSlowdownMs = 5_000;

// Attempts are kept this long, far past the window, so an attack can still be looked into the
// next morning; a scheduled job deletes older ones (purgeOldLoginAttempts).
export const keepLoginAttemptsHours = 24;

export function addressSlowdownMs(failuresFromAddress: number): number {
  if (failuresFromAddress < slowdownAfterFailuresPerAddress) return 0;
  return Math.min(maxSlowdownMs, (failuresFromAddress - slowdownAfterFailuresPerAddress + 1) * slowdownStepMs);
}

export type LoginResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterMinutes: number };

type Admission = { admitted: true; attemptId: string; failuresFromAddress: number } | { admitted: false };

// Counts the recent failures and, when the limit leaves room, records this attempt as pending:
// one step under a lock on the login+address pair, held in PostgreSQL so that every instance
// queues behind it. Without the lock, parallel guesses would all count the same few failures
// before any of them was recorded. The lock is held for the count and the insert only, never
// for the password check.
async function admitAttempt(db: Db, login: string, ip: string): Promise<Admission> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${lockSpaces.loginThrottle}::int, hashtext(${`${login}\n${ip}`}))`.execute(
      trx,
    );
    // a pending attempt (succeeded is null) counts as a failure until its check has finished
    const counts = await trx
      .selectFrom('login_attempts')
      .select([
        sql<number>`(count(*) filter (where login = ${login}))::int`.as('byLogin'),
        sql<number>`count(*)::int`.as('byAddress'),
      ])
      .where('ip', '=', ip)
      .where('succeeded', 'is not', true)
      .where('created_at', '>', sql<Date>`now() - make_interval(mins => ${loginWindowMinutes})`)
      .executeTakeFirstOrThrow();
    if (counts.byLogin >= maxFailuresPerLogin) return { admitted: false };
    const attempt = await trx
      .insertInto('login_attempts')
      .values({ login, ip, succeeded: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { admitted: true, attemptId: attempt.id, failuresFromAddress: counts.byAddress };
  });
}

export async function attemptLogin(
  db: Db,
  input: { login: string; password: string; ip: string },
): Promise<LoginResult> {
  const login = normalizeLogin(input.login).slice(0, 64);
  const admission = await admitAttempt(db, login, input.ip);
  if (!admission.admitted) return { ok: false, reason: 'throttled', retryAfterMinutes: loginWindowMinutes };
  const slowdown = addressSlowdownMs(admission.failuresFromAddress);
  if (slowdown) await sleep(slowdown);

  const user = await findUserByLogin(db, login);
  const hash = user?.password_hash ?? (await dummyHash);
  const passwordOk = await verifyPassword(input.password, hash);
  const ok = Boolean(user?.active && user.password_hash && passwordOk);
  await db.updateTable('login_attempts').set({ succeeded: ok }).where('id', '=', admission.attemptId).execute();
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

// No index serves this: the table holds about a day of attempts, which an hourly scan reads at
// less cost than an index would add to every attempt's insert.
export async function purgeOldLoginAttempts(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('login_attempts')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${keepLoginAttemptsHours})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
