import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Delivery, OutboxStatus, ThreadSide } from '../db/schema.ts';
import { giveUpAfterMs } from '../mail/outbound/outbox.ts';
import { queueReplyMail, type ReplyAddressing } from '../mail/outbound/reply-mail.ts';
import { excerptOf } from '../rich-text/excerpt.ts';
import { addressList, documentIds } from './threads.ts';

// The state of a reply's e-mail: its latest outbox row that is not a draft (a draft is only a
// preview waiting for Send), or null when none ever left.
export type MailState = Exclude<OutboxStatus, 'draft'> | null;

// Send to customer is for a staff reply that was only saved, or whose e-mail did not go
// (failed, or cancelled in the outbox). One that is queued, sending or sent is never sent twice.
export function canSendToCustomer(reply: { side: ThreadSide; delivery: Delivery; mailState: MailState }): boolean {
  if (reply.side !== 'staff') return false;
  if (reply.mailState === null) return reply.delivery === 'saved';
  return reply.mailState === 'failed' || reply.mailState === 'cancelled';
}

export class NotSendableError extends Error {}

// To and Cc as typed on the preview page; documents ticked there (ids of the case's documents).
export const sendAddressingSchema = z.object({
  to: addressList.refine((list) => list.length > 0, 'errors.send_recipient_required'),
  cc: addressList,
  documents: documentIds,
});

async function findReplyForSending(db: Db, caseId: number, entryId: string, opts: { lock?: boolean } = {}) {
  let query = db
    .selectFrom('thread_entries')
    .select(['id', 'side', 'delivery', 'message_id', 'author_name', 'created_at'])
    .where('id', '=', entryId)
    .where('case_id', '=', caseId);
  if (opts.lock) query = query.forUpdate();
  const entry = await query.executeTakeFirst();
  if (!entry) return null;
  const latest = await db
    .selectFrom('outbox')
    .select('status')
    .where('thread_entry_id', '=', entry.id)
    .where('status', '<>', 'draft')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const mailState = (latest?.status ?? null) as MailState;
  return { ...entry, mailState, sendable: canSendToCustomer({ ...entry, mailState }) };
}

// The reply as the preview page needs it, with the documents attached to it so far; null when
// the case has no such entry.
export async function findReplyToSend(db: Db, caseId: number, entryId: string) {
  const entry = await findReplyForSending(db, caseId, entryId);
  if (!entry) return null;
  const attached = await db
    .selectFrom('thread_entry_attachments')
    .select('document_id')
    .where('thread_entry_id', '=', entry.id)
    .execute();
  return { ...entry, documentIds: attached.map((a) => a.document_id) };
}

// Composes the reply's e-mail as a draft, the one draft of this reply: an earlier preview's
// draft goes. Returns the stored raw message, which is what Send releases unchanged.
export async function composeReplyDraft(
  db: Db,
  config: Config,
  input: { caseId: number; entryId: string; addressing: ReplyAddressing; actorId: number },
): Promise<{ id: string; raw: Buffer }> {
  return db.transaction().execute(async (trx) => {
    // The reply's row lock makes a preview and a Send of the same reply take turns.
    const entry = await findReplyForSending(trx, input.caseId, input.entryId, { lock: true });
    if (!entry?.sendable) throw new NotSendableError();
    await trx.deleteFrom('outbox').where('thread_entry_id', '=', entry.id).where('status', '=', 'draft').execute();
    // A message that failed or was cancelled keeps its Message-ID in the outbox; this is a new one.
    if (entry.message_id) {
      const taken = await trx
        .selectFrom('outbox')
        .select('id')
        .where('message_id', '=', entry.message_id)
        .executeTakeFirst();
      if (taken) await trx.updateTable('thread_entries').set({ message_id: null }).where('id', '=', entry.id).execute();
    }
    // The attachments are those of the message about to go, not of an earlier try.
    await trx.deleteFrom('thread_entry_attachments').where('thread_entry_id', '=', entry.id).execute();
    const id = await queueReplyMail(trx, config, {
      caseId: input.caseId,
      entryId: entry.id,
      addressing: input.addressing,
      actorId: input.actorId,
      status: 'draft',
    });
    const { raw } = await trx.selectFrom('outbox').select('raw').where('id', '=', id).executeTakeFirstOrThrow();
    return { id, raw };
  });
}

// Send: the previewed draft goes to the outbox as it is. 'stale' when it is no longer this
// reply's draft (sent already, or replaced by a newer preview) or the reply is no longer sendable.
export async function releaseReplyDraft(
  db: Db,
  input: { caseId: number; entryId: string; outboxId: string; actorId: number },
): Promise<'queued' | 'stale'> {
  return db.transaction().execute(async (trx) => {
    const entry = await findReplyForSending(trx, input.caseId, input.entryId, { lock: true });
    if (!entry?.sendable) return 'stale';
    const now = new Date();
    const released = await trx
      .updateTable('outbox')
      .set({ status: 'queued', next_attempt_at: now, give_up_at: new Date(now.getTime() + giveUpAfterMs) })
      .where('id', '=', input.outboxId)
      .where('thread_entry_id', '=', entry.id)
      .where('case_id', '=', input.caseId)
      .where('status', '=', 'draft')
      .returning('envelope_to')
      .executeTakeFirst();
    if (!released) return 'stale';
    await trx.updateTable('thread_entries').set({ delivery: 'to_send' }).where('id', '=', entry.id).execute();
    await trx
      .insertInto('case_events')
      .values({
        case_id: input.caseId,
        user_id: input.actorId,
        kind: 'email_queued',
        new_value: released.envelope_to.join(', '),
      })
      .execute();
    await trx.updateTable('cases').set({ last_activity_at: now }).where('id', '=', input.caseId).execute();
    return 'queued';
  });
}

const excerptLength = 60;

// The staff replies of a case that Send to customer can send, newest first, each with the start
// of its text so the Manage menu can tell them apart.
export async function listUnsentReplies(db: Db, caseId: number) {
  const rows = await db
    .selectFrom('thread_entries as e')
    .select((eb) => [
      'e.id',
      'e.side',
      'e.delivery',
      'e.body_html',
      'e.created_at',
      eb
        .selectFrom('outbox')
        .select('outbox.status')
        .whereRef('outbox.thread_entry_id', '=', 'e.id')
        .where('outbox.status', '<>', 'draft')
        .orderBy('outbox.id', 'desc')
        .limit(1)
        .as('mail_status'),
    ])
    .where('e.case_id', '=', caseId)
    .where('e.side', '=', 'staff')
    .where('e.delivery', '<>', 'none')
    .orderBy('e.id', 'desc')
    .execute();
  return rows
    .filter((r) => canSendToCustomer({ ...r, mailState: r.mail_status as MailState }))
    .map((r) => ({ id: r.id, created_at: r.created_at, excerpt: excerptOf(r.body_html, excerptLength) }));
}
