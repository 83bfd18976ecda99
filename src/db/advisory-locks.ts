import { sql } from 'kysely';
import type { Db } from './database.ts';

// The first number of pg_try_advisory_lock(int, int): what kind of thing is locked. The second
// is that thing's id (or hashtext of its name). Listed here so two kinds never share a number.
export const lockSpaces = {
  // a scheduled job by name (src/jobs/run-job.ts): one instance runs it at a time
  job: 7001,
  // an IMAP mailbox by id (src/mail/inbound/fetch.ts): one reader per mailbox at a time
  mailbox: 7002,
  // a login+address pair (src/users/login.ts): its attempts are counted and recorded one at a time
  loginThrottle: 7003,
  // the embedded PostgreSQL itself (src/db/embedded.ts), second number 0: every process using it
  // holds this shared, so the one that can take it exclusively is the last and stops the server
  embeddedServer: 7004,
  // links between cases (src/case-links/), second number 0, taken per transaction: two parent
  // links added at once could each pass the loop check and together close a loop
  caseLinks: 7005,
} as const;
export type LockSpace = keyof typeof lockSpaces;

export type LockResult<T> = { acquired: true; value: T } | { acquired: false };

// Runs fn while holding a session-level advisory lock, or returns { acquired: false } at once when
// another session holds it. The lock lives on one dedicated pooled connection for the whole run, so
// it is released when fn ends or, if this process dies, when PostgreSQL drops the connection.
export async function withAdvisoryLock<T>(
  db: Db,
  space: LockSpace,
  key: number | string,
  fn: () => Promise<T>,
): Promise<LockResult<T>> {
  const spaceId = lockSpaces[space];
  const keyExpr = typeof key === 'number' ? sql`${key}::int` : sql`hashtext(${key})`;
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_lock(${spaceId}::int, ${keyExpr}) as locked`.execute(conn);
    if (!rows[0]?.locked) return { acquired: false };
    try {
      return { acquired: true, value: await fn() };
    } finally {
      await sql`select pg_advisory_unlock(${spaceId}::int, ${keyExpr})`.execute(conn).catch(() => {
        // The connection is gone, and the lock with it.
      });
    }
  });
}
