import { sql } from 'kysely';
import { type AddressObject, simpleParser } from 'mailparser';
import { z } from 'zod';
import { applyCaseEvent, recordCaseEvent } from '../cases/case-events.ts';
import { markCaseActive } from '../cases/cases.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Delivery, OutboxStatus, ThreadSide, User } from '../db/schema.ts';
import { findRecalledEntryId, saveRecalledReply } from '../drafts/drafts.ts';
import { type MailPreview, previewMail } from '../mail/outbound/preview.ts';
import { composeReplyMail, type ReplyAddressing, storeReplyMail } from '../mail/outbound/reply-mail.ts';
import { excerptOf } from '../rich-text/excerpt.ts';
import { addressList, documentIds, undoCaseWaiting } from './threads.ts';

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

// The reply's e-mail as Send would compose it now, for the preview page. Reads only, so looking
// at the page (or an image in a post pointing at it) changes nothing.
export async function composeReplyPreview(
  db: Db,
  config: Config,
  input: { caseId: number; entryId: string; addressing: ReplyAddressing },
): Promise<MailPreview> {
  const entry = await findReplyForSending(db, input.caseId, input.entryId);
  if (!entry?.sendable) throw new NotSendableError();
  const mail = await composeReplyMail(db, config, { ...input, freshMessageId: true });
  return previewMail(mail.raw);
}

// Send: the reply's e-mail is composed again and queued, if it is still the mail that was
// previewed (the same digest). 'stale' when the reply is no longer sendable (sent already, a
// second click) or the mail would differ from the preview (the text, the documents, the case
// title or the sender changed meanwhile).
export async function sendReplyToCustomer(
  db: Db,
  config: Config,
  input: { caseId: number; entryId: string; addressing: ReplyAddressing; digest: string; actorId: number },
): Promise<'queued' | 'stale'> {
  return db.transaction().execute(async (trx) => {
    // The reply's row lock makes two Sends of the same reply take turns; the second finds it queued.
    const entry = await findReplyForSending(trx, input.caseId, input.entryId, { lock: true });
    if (!entry?.sendable) return 'stale';
    // A message that failed or was cancelled keeps its Message-ID in the outbox, so every try is a new one.
    const mail = await composeReplyMail(trx, config, {
      caseId: input.caseId,
      entryId: entry.id,
      addressing: input.addressing,
      freshMessageId: entry.message_id !== null,
    });
    if ((await previewMail(mail.raw)).digest !== input.digest) return 'stale';
    // Drafts of earlier versions, which previewed by storing one, are nothing to send.
    await trx.deleteFrom('outbox').where('thread_entry_id', '=', entry.id).where('status', '=', 'draft').execute();
    // The attachments are those of the message about to go, not of an earlier try.
    await trx.deleteFrom('thread_entry_attachments').where('thread_entry_id', '=', entry.id).execute();
    await storeReplyMail(
      trx,
      { caseId: input.caseId, entryId: entry.id, actorId: input.actorId, status: 'queued' },
      mail,
    );
    await trx.updateTable('thread_entries').set({ delivery: 'to_send' }).where('id', '=', entry.id).execute();
    const actor = { id: input.actorId };
    await recordCaseEvent(trx, input.caseId, 'email_queued', actor, { new_value: mail.envelopeTo.join(', ') });
    await applyCaseEvent(trx, input.caseId, { type: 'reply_sent', setWaiting: false }, actor);
    await markCaseActive(trx, input.caseId);
    return 'queued';
  });
}

export type RecallOutcome = 'recalled' | 'too_late' | 'not_found' | 'not_writer';

// The addresses a composed message goes to, read from its header (the body can be megabytes of
// attachments and is not needed).
async function addressesOf(raw: Buffer): Promise<{ to: string[]; cc: string[] }> {
  const end = raw.indexOf('\r\n\r\n');
  const header = await simpleParser(end < 0 ? raw : raw.subarray(0, end + 4));
  const list = (field: AddressObject | AddressObject[] | undefined) =>
    [field ?? []]
      .flat()
      .flatMap((group) => group.value)
      .map((a) => a.address ?? '')
      .filter(Boolean);
  return { to: list(header.to), cc: list(header.cc) };
}

// Undo of "Send now". While the reply's e-mail is held, it comes out of the outbox, the reply
// leaves the thread and goes back to its writer's reply box as a draft (text, addresses, attached
// documents, the Waiting choice, and the case's status before it). Once the hold has ended, by the
// database's clock, it is too late and nothing changes: a sender may have the message already.
export async function recallHeldReply(
  db: Db,
  input: { caseId: number; entryId: string; actor: User },
): Promise<RecallOutcome> {
  return db.transaction().execute(async (trx) => {
    // The reply's row lock makes two Undos take turns; the second finds it gone.
    const entry = await trx
      .selectFrom('thread_entries')
      .select(['id', 'side', 'user_id', 'body_html'])
      .where('id', '=', input.entryId)
      .where('case_id', '=', input.caseId)
      .forUpdate()
      .executeTakeFirst();
    if (!entry) {
      const again = (await findRecalledEntryId(trx, input.caseId, input.actor.id)) === input.entryId;
      return again ? 'recalled' : 'not_found';
    }
    if (entry.side !== 'staff') return 'not_found';
    if (entry.user_id !== input.actor.id) return 'not_writer';
    // A sender that claimed it made it 'sending' first (and this waited for its row lock).
    const held = await sql<{ raw: Buffer }>`
      delete from outbox
      where thread_entry_id = ${entry.id} and status = 'queued' and held_until > clock_timestamp()
      returning raw`.execute(trx);
    const message = held.rows[0];
    if (!message) return 'too_late';
    const { to, cc } = await addressesOf(message.raw);
    const attached = await trx
      .selectFrom('thread_entry_attachments')
      .select('document_id')
      .where('thread_entry_id', '=', entry.id)
      .execute();
    const setWaiting = await undoCaseWaiting(trx, input.caseId, entry.id, input.actor);
    await trx.deleteFrom('thread_entries').where('id', '=', entry.id).execute();
    await recordCaseEvent(trx, input.caseId, 'email_recalled', input.actor, { new_value: to.join(', ') });
    await saveRecalledReply(trx, {
      caseId: input.caseId,
      userId: input.actor.id,
      recalledEntryId: entry.id,
      body_html: entry.body_html,
      to: to.join(', '),
      cc: cc.join(', '),
      document_ids: attached.map((a) => String(a.document_id)),
      set_waiting: setWaiting,
    });
    return 'recalled';
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
  return unsentRepliesOf(rows);
}

// The same list from entries a page has already read with their mail's state (the thread tab's
// listThreadEntries), newest first as given: no second query for the Manage menu.
export function unsentRepliesOf(
  entries: readonly {
    id: string;
    side: ThreadSide;
    delivery: Delivery;
    body_html: string;
    created_at: Date;
    mail_status: string | null;
  }[],
) {
  return entries
    .filter((r) => r.delivery !== 'none' && canSendToCustomer({ ...r, mailState: r.mail_status as MailState }))
    .map((r) => ({ id: r.id, created_at: r.created_at, excerpt: excerptOf(r.body_html, excerptLength) }));
}
