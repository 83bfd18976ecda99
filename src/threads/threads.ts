import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ThreadEntry, User } from '../db/schema.ts';
import { isBlankRichText, sanitizeRichText } from '../rich-text/sanitize.ts';
import { FormError } from '../web/form.ts';

export const replySchema = z.object({
  body_html: z.string().default('').transform(sanitizeRichText),
  // "send to customer now" is the default; "save only" keeps it for Manage → Send to customer.
  delivery: z.enum(['to_send', 'saved']).default('to_send'),
});
export type ReplyInput = z.output<typeof replySchema>;

export async function addStaffReply(db: Db, caseId: number, input: ReplyInput, actor: User): Promise<ThreadEntry> {
  if (isBlankRichText(input.body_html)) throw new FormError({ body_html: 'errors.required' });
  return db.transaction().execute(async (trx) => {
    const entry = await trx
      .insertInto('thread_entries')
      .values({
        case_id: caseId,
        side: 'staff',
        user_id: actor.id,
        author_name: actor.name,
        author_email: actor.email,
        body_html: input.body_html,
        delivery: input.delivery,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('case_events')
      .values({ case_id: caseId, user_id: actor.id, kind: 'reply_added', new_value: input.delivery })
      .execute();
    await trx.updateTable('cases').set({ last_activity_at: new Date() }).where('id', '=', caseId).execute();
    return entry;
  });
}

export async function listThreadEntries(db: Db, caseId: number) {
  return db
    .selectFrom('thread_entries')
    .leftJoin('users', 'users.id', 'thread_entries.user_id')
    .selectAll('thread_entries')
    .select('users.initials as user_initials')
    .where('thread_entries.case_id', '=', caseId)
    .orderBy('thread_entries.id', 'desc')
    .execute();
}
