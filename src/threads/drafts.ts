import type { Db } from '../db/database.ts';

// A reply taken back by Undo waits in its writer's reply box on that case (one per case and
// writer), with everything the box had: text, addresses, ticked documents, the Waiting choice.
// Sending or saving a reply from the box uses it up (addStaffReply).

export type ReplyDraft = {
  body_html: string;
  to: string;
  cc: string;
  document_ids: string[];
  set_waiting: boolean;
};

export async function findReplyDraft(db: Db, caseId: number, userId: number): Promise<ReplyDraft | undefined> {
  const row = await db
    .selectFrom('reply_drafts')
    .select(['body_html', 'to_addresses', 'cc_addresses', 'document_ids', 'set_waiting'])
    .where('case_id', '=', caseId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    body_html: row.body_html,
    to: row.to_addresses,
    cc: row.cc_addresses,
    document_ids: row.document_ids.map(String),
    set_waiting: row.set_waiting,
  };
}

export async function saveRecalledReply(
  db: Db,
  input: ReplyDraft & { caseId: number; userId: number; recalledEntryId: string },
): Promise<void> {
  const values = {
    body_html: input.body_html,
    to_addresses: input.to,
    cc_addresses: input.cc,
    document_ids: input.document_ids,
    set_waiting: input.set_waiting,
    recalled_entry_id: input.recalledEntryId,
    updated_at: new Date(),
  };
  await db
    .insertInto('reply_drafts')
    .values({ case_id: input.caseId, user_id: input.userId, ...values })
    .onConflict((oc) => oc.columns(['case_id', 'user_id']).doUpdateSet(values))
    .execute();
}

export async function discardReplyDraft(db: Db, caseId: number, userId: number): Promise<void> {
  await db.deleteFrom('reply_drafts').where('case_id', '=', caseId).where('user_id', '=', userId).execute();
}
