import { sql } from 'kysely';
import { z } from 'zod';
import { applyCaseEvent, recordCaseEvent } from '../cases/case-events.ts';
import { markCaseActive } from '../cases/cases.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { ThreadEntry, User } from '../db/schema.ts';
import { discardDraft } from '../drafts/drafts.ts';
import { bigIdListField, checkbox, FormError, optionalMultiLine } from '../forms/form.ts';
import { holdForUndo } from '../mail/outbound/outbox.ts';
import { queueReplyMail } from '../mail/outbound/reply-mail.ts';
import { isBlankRichText, sanitizeRichText } from '../rich-text/sanitize.ts';
import { addThreadEntry } from './entries.ts';

// "a@x.se, b@y.se" or one per line → a list of addresses, each checked.
export const addressList = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(/[\s,;]+/).filter(Boolean))
  .pipe(z.array(z.email('errors.email')).max(20, 'errors.too_long'));

export const documentIds = bigIdListField;

export const replySchema = z.object({
  body_html: optionalMultiLine(1_000_000).transform(sanitizeRichText),
  // "send to customer now" is the default; "save only" keeps it for Manage → Send to customer.
  delivery: z.enum(['to_send', 'saved']).default('to_send'),
  to: addressList,
  cc: addressList,
  document_ids: documentIds,
  // "after sending, set status to: Waiting for customer": starts Kontroll's clock
  set_waiting: checkbox,
});
export type ReplyInput = z.output<typeof replySchema>;
export type NewReply = Pick<ReplyInput, 'body_html' | 'delivery'> &
  Partial<Pick<ReplyInput, 'to' | 'cc' | 'document_ids' | 'set_waiting'>>;

// heldSeconds: how long its e-mail waits for Undo (0: not held, or not sent)
export type AddedReply = { id: string; delivery: ThreadEntry['delivery']; heldSeconds: number };

// An entry the writer of a reply had not seen when their reply form was opened.
export type UnseenEntry = Pick<ThreadEntry, 'id' | 'side' | 'user_id' | 'author_name'>;

// "Send now" was refused: since the reply form was opened, the customer wrote or a colleague sent
// a reply, and the writer should see that first (issue 18). Nothing was written.
export class ReplyCollisionError extends Error {
  readonly statusCode = 409;
  constructor(readonly entries: UnseenEntry[]) {
    super('New thread entries since the reply form was opened');
  }
}

// The entries after seenEntryId that a reply's writer should read before it goes: the customer's
// messages, and replies other users sent. Not the writer's own replies, system lines, or replies
// a colleague only saved; internal notes and discussion posts are not in the thread at all.
export async function listUnseenEntries(
  db: Db,
  caseId: number,
  seenEntryId: string,
  userId: number,
): Promise<UnseenEntry[]> {
  return db
    .selectFrom('thread_entries')
    .select(['id', 'side', 'user_id', 'author_name'])
    .where('case_id', '=', caseId)
    .where('id', '>', seenEntryId)
    .where((eb) =>
      eb.or([
        eb('side', '=', 'customer'),
        eb.and([eb('side', '=', 'staff'), eb('delivery', '=', 'to_send'), eb('user_id', 'is distinct from', userId)]),
      ]),
    )
    .orderBy('id')
    .execute();
}

// A staff reply in the thread. "Send now" puts its e-mail in the outbox in the same transaction
// (delivery happens later, outside the request); "save only" waits for Send to customer.
// With holdForUndo (a person pressed Send now), the mail waits the basic setting's seconds so
// Undo can take it back. The writer's draft of the case (a reply taken back earlier) is used up.
// With the form's one-time key, a second submit of the same form gets the first reply back.
// With seenEntryId (the newest entry the reply form showed), a reply to send is refused with a
// ReplyCollisionError when the customer wrote or a colleague sent a reply since. Checked after the
// key is claimed: a second click of a reply that went gets that reply, not a warning.
export async function addStaffReply(
  db: Db,
  caseId: number,
  input: NewReply,
  actor: User,
  opts: { config?: Config; formKey?: string | null; holdForUndo?: boolean; seenEntryId?: string | null } = {},
): Promise<AddedReply> {
  if (isBlankRichText(input.body_html)) throw new FormError({ body_html: 'errors.required' });
  if (input.delivery === 'to_send' && !input.to?.length) throw new FormError({ to: 'errors.recipient_required' });
  // inside the caller's transaction when given one (a bulk close with a message to each customer)
  if (!db.isTransaction) return db.transaction().execute((trx) => addStaffReply(trx, caseId, input, actor, opts));
  const trx = db;
  return oncePerFormKey(
    trx,
    { key: opts.formKey, userId: actor.id, form: `reply:${caseId}`, content: input },
    async () => {
      if (input.delivery === 'to_send' && opts.seenEntryId) {
        const unseen = await listUnseenEntries(trx, caseId, opts.seenEntryId, actor.id);
        // thrown inside the transaction: the claimed key is given back with it
        if (unseen.length) throw new ReplyCollisionError(unseen);
      }
      const entry = await addThreadEntry(trx, {
        case_id: caseId,
        side: 'staff',
        user_id: actor.id,
        author_name: actor.name,
        author_email: actor.email,
        body_html: input.body_html,
        delivery: input.delivery,
      });
      await recordCaseEvent(trx, caseId, 'reply_added', actor, { new_value: input.delivery });
      await markCaseActive(trx, caseId);
      await discardDraft(trx, caseId, actor.id, 'reply');
      let heldSeconds = 0;
      if (input.delivery === 'to_send') {
        if (!opts.config) throw new Error('addStaffReply: sending needs the config');
        const outboxId = await queueReplyMail(trx, opts.config, {
          caseId,
          entryId: entry.id,
          addressing: { to: input.to ?? [], cc: input.cc ?? [], documentIds: input.document_ids ?? [] },
          actorId: actor.id,
          status: 'queued',
        });
        if (opts.holdForUndo) {
          heldSeconds = await undoSendSeconds(trx);
          if (heldSeconds > 0) await holdForUndo(trx, outboxId, heldSeconds);
        }
        // Waits for the customer from now on (with "set Waiting", or already waiting: the clock restarts).
        await applyCaseEvent(trx, caseId, { type: 'reply_sent', setWaiting: Boolean(input.set_waiting) }, actor);
      }
      return { id: entry.id, delivery: input.delivery, heldSeconds };
    },
  );
}

async function undoSendSeconds(trx: Db): Promise<number> {
  const row = await trx.selectFrom('case_settings').select('undo_send_seconds').where('id', '=', 1).executeTakeFirst();
  return row?.undo_send_seconds ?? 0;
}

// Undo of a held reply that set the case to Waiting: the status it had comes back, unless the
// status changed again since. The reply's 'reply_sent' ran in its transaction, and now() is the
// same all through a transaction, so its status event carries the reply's very created_at. Returns whether
// the reply had changed the status to Waiting.
export async function undoCaseWaiting(trx: Db, caseId: number, entryId: string, actor: User): Promise<boolean> {
  const statusEvents = trx
    .selectFrom('case_events')
    .select(['id', 'old_value', 'new_value'])
    .where('case_id', '=', caseId)
    .where('field', '=', 'status_id');
  const change = await statusEvents
    .where('kind', '=', 'field_changed')
    .where('user_id', '=', actor.id)
    .where('created_at', '=', (eb) => eb.selectFrom('thread_entries').select('created_at').where('id', '=', entryId))
    .executeTakeFirst();
  // Locked before the latest status event is read, so nobody changes the status in between.
  const current = await trx
    .selectFrom('cases')
    .select(['status_id'])
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  // The reply is taken back either way (the service-level clock owes the response again); the
  // status goes back only when the reply had set it and nobody changed it since.
  const latest = change?.old_value ? await statusEvents.orderBy('id', 'desc').limit(1).executeTakeFirst() : undefined;
  const restores = change?.old_value && latest?.id === change.id && String(current.status_id) === change.new_value;
  await applyCaseEvent(
    trx,
    caseId,
    { type: 'send_undone', status: restores ? Number(change.old_value) : current.status_id },
    actor,
  );
  return Boolean(change?.old_value);
}

// The thread, newest first, each staff reply with the state of its e-mail (the latest outbox row
// that is not a draft).
export async function listThreadEntries(db: Db, caseId: number) {
  return threadEntriesQuery(db, caseId).execute();
}

export function threadEntriesQuery(db: Db, caseId: number) {
  return (
    db
      .selectFrom('thread_entries')
      .leftJoin('users', 'users.id', 'thread_entries.user_id')
      .leftJoin(
        (eb) =>
          eb
            .selectFrom('outbox')
            .select([
              'outbox.thread_entry_id',
              'outbox.status',
              'outbox.last_error',
              'outbox.envelope_to',
              // seconds left to Undo "Send now", by the database's clock; null when not held
              sql<number | null>`case when outbox.status = 'queued' and outbox.held_until > now()
                then ceil(extract(epoch from outbox.held_until - now()))::int end`.as('hold_seconds_left'),
            ])
            .distinctOn('outbox.thread_entry_id')
            .where('outbox.case_id', '=', caseId)
            .where('outbox.thread_entry_id', 'is not', null)
            // a draft is only a preview: the reply is still "saved" (or still "failed") until it is sent
            .where('outbox.status', '<>', 'draft')
            .orderBy('outbox.thread_entry_id')
            .orderBy('outbox.id', 'desc')
            .as('mail'),
        (join) => join.onRef('mail.thread_entry_id', '=', 'thread_entries.id'),
      )
      // what ingest made of a mail entry: an automatic reply or a bounce is marked as such
      .leftJoin('inbound_messages', 'inbound_messages.id', 'thread_entries.inbound_message_id')
      .selectAll('thread_entries')
      .select([
        'inbound_messages.outcome as inbound_outcome',
        'users.initials as user_initials',
        'mail.status as mail_status',
        'mail.last_error as mail_error',
        'mail.envelope_to as mail_to',
        'mail.hold_seconds_left',
        // an entry a merge brought here names the case it was written in
        (eb) =>
          eb
            .selectFrom('cases as moved_from')
            .select('moved_from.number')
            .whereRef('moved_from.id', '=', 'thread_entries.moved_from_case_id')
            .as('moved_from_number'),
      ])
      .where('thread_entries.case_id', '=', caseId)
      .orderBy('thread_entries.id', 'desc')
  );
}

// A merge (src/cases/merge.ts) moves a case's whole thread to the case it was merged into, a split
// (src/cases/split.ts) the chosen entries to the new case: each entry keeps its time (the thread
// reads in time order), and remembers the case it was written in, shown beside it. Moved twice
// (A into C after B into A), an entry keeps its first case.
export async function moveThreadEntries(
  trx: Db,
  fromCaseId: number,
  toCaseId: number,
  entryIds?: string[],
): Promise<void> {
  if (entryIds && !entryIds.length) return;
  let move = trx
    .updateTable('thread_entries')
    .set({ case_id: toCaseId, moved_from_case_id: sql`coalesce(moved_from_case_id, ${fromCaseId})` })
    .where('case_id', '=', fromCaseId);
  if (entryIds) move = move.where('id', 'in', entryIds);
  await move.execute();
}
