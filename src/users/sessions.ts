import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';

// Sessions are rows of the sessions table, written by the web layer's session store. A user's
// sessions end when their password changes or they are deactivated.

// Whether a session was opened under the user's current generation. Deleting the rows alone is
// not enough: a request that read its session before the deletion saves it again when it ends.
export function isSessionCurrent(
  user: Pick<User, 'session_generation'>,
  session: { sessionGeneration?: number },
): boolean {
  return (session.sessionGeneration ?? 0) === user.session_generation;
}

// Ends every session of the user except `keep` (the session of a user changing their own
// password) and returns the new generation, which `keep` must carry from now on.
// Meant to run in the caller's transaction, beside the change that calls for it.
export async function endSessionsOfUser(db: Db, userId: number, keep?: string): Promise<number> {
  const { session_generation } = await db
    .updateTable('users')
    .set((eb) => ({ session_generation: eb('session_generation', '+', 1) }))
    .where('id', '=', userId)
    .returning('session_generation')
    .executeTakeFirstOrThrow();
  let sessions = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keep) sessions = sessions.where('sid', '<>', keep);
  await sessions.execute();
  return session_generation;
}

// Expired sessions are never read again (the store skips them); the schedule deletes them.
export async function purgeExpiredSessions(db: Db): Promise<number> {
  const result = await db.deleteFrom('sessions').where('expires_at', '<', new Date()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
