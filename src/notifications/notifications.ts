import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export type NewNotification = {
  userId: number;
  actorId: number | null;
  kind: 'assigned' | 'mentioned';
  caseId: number | null;
  summary: string;
  link: string;
};

export async function notifyUser(db: Kysely<Database>, n: NewNotification): Promise<void> {
  await db
    .insertInto('notifications')
    .values({
      user_id: n.userId,
      actor_id: n.actorId,
      kind: n.kind,
      case_id: n.caseId,
      summary: n.summary,
      link: n.link,
    })
    .execute();
}

export async function countUnread(db: Kysely<Database>, userId: number): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirstOrThrow();
  return row.n;
}

export async function listNotifications(db: Kysely<Database>, userId: number, limit = 50) {
  return db
    .selectFrom('notifications')
    .leftJoin('users as actor', 'actor.id', 'notifications.actor_id')
    .select([
      'notifications.id',
      'notifications.kind',
      'notifications.summary',
      'notifications.link',
      'notifications.read_at',
      'notifications.created_at',
      'actor.name as actor_name',
      // "KALLE mentioned you": colleagues know each other by user ID, as in an @mention.
      'actor.login as actor_login',
    ])
    .where('notifications.user_id', '=', userId)
    .orderBy('notifications.id', 'desc')
    .limit(limit)
    .execute();
}

// Opening a notification marks it read; only its owner can.
export async function markNotificationRead(db: Kysely<Database>, userId: number, id: string): Promise<string | null> {
  const row = await db
    .updateTable('notifications')
    .set({ read_at: new Date() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning('link')
    .executeTakeFirst();
  return row?.link ?? null;
}
