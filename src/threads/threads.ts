import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { ThreadEntry, User } from '../db/schema.ts';
import { queueReplyMail } from '../mail/outbound/reply-mail.ts';
import { isBlankRichText, sanitizeRichText } from '../rich-text/sanitize.ts';
import { checkbox, FormError } from '../web/form.ts';

// "a@x.se, b@y.se" or one per line → a list of addresses, each checked.
export const addressList = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(/[\s,;]+/).filter(Boolean))
  .pipe(z.array(z.email('errors.email')).max(20, 'errors.too_long'));

export const documentIds = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().regex(/^\d{1,18}$/, 'errors.invalid')));

export const replySchema = z.object({
  body_html: z.string().default('').transform(sanitizeRichText),
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

export type AddedReply = { id: string; delivery: ThreadEntry['delivery'] };

// A staff reply in the thread. "Send now" puts its e-mail in the outbox in the same transaction
// (delivery happens later, outside the request); "save only" waits for Send to customer.
// With the form's one-time key, a second submit of the same form gets the first reply back.
export async function addStaffReply(
  db: Db,
  caseId: number,
  input: NewReply,
  actor: User,
  opts: { config?: Config; formKey?: string | null } = {},
): Promise<AddedReply> {
  if (isBlankRichText(input.body_html)) throw new FormError({ body_html: 'errors.required' });
  if (input.delivery === 'to_send' && !input.to?.length) throw new FormError({ to: 'errors.recipient_required' });
  return db.transaction().execute((trx) =>
    oncePerFormKey(trx, { key: opts.formKey, userId: actor.id, form: `reply:${caseId}`, content: input }, async () => {
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
        .returning(['id', 'delivery'])
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('case_events')
        .values({ case_id: caseId, user_id: actor.id, kind: 'reply_added', new_value: input.delivery })
        .execute();
      await trx.updateTable('cases').set({ last_activity_at: new Date() }).where('id', '=', caseId).execute();
      if (input.delivery === 'to_send') {
        if (!opts.config) throw new Error('addStaffReply: sending needs the config');
        await queueReplyMail(trx, opts.config, {
          caseId,
          entryId: entry.id,
          addressing: { to: input.to ?? [], cc: input.cc ?? [], documentIds: input.document_ids ?? [] },
          actorId: actor.id,
          status: 'queued',
        });
        if (input.set_waiting) await setCaseWaiting(trx, caseId, actor);
      }
      return { id: entry.id, delivery: entry.delivery };
    }),
  );
}

// The case waits for the customer from now on (the first active status of that kind), recorded
// like a header edit so history shows it and an open form elsewhere becomes stale.
async function setCaseWaiting(trx: Db, caseId: number, actor: User): Promise<void> {
  const current = await trx
    .selectFrom('cases')
    .select(['status_id', 'status_kind', 'version'])
    .where('id', '=', caseId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (current.status_kind === 'waiting') return;
  const waiting = await trx
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', 'waiting')
    .where('active', '=', true)
    .orderBy('position')
    .orderBy('id')
    .executeTakeFirst();
  if (!waiting) return;
  await trx
    .updateTable('cases')
    .set({ status_id: waiting.id, version: current.version + 1, updated_at: new Date() })
    .where('id', '=', caseId)
    .execute();
  await trx
    .insertInto('case_events')
    .values({
      case_id: caseId,
      user_id: actor.id,
      kind: 'field_changed',
      field: 'status_id',
      old_value: String(current.status_id),
      new_value: String(waiting.id),
    })
    .execute();
}

// The thread, newest first, each staff reply with the state of its e-mail (the latest outbox row
// that is not a draft).
export async function listThreadEntries(db: Db, caseId: number) {
  return (
    db
      .selectFrom('thread_entries')
      .leftJoin('users', 'users.id', 'thread_entries.user_id')
      .leftJoin(
        (eb) =>
          eb
            .selectFrom('outbox')
            .select(['outbox.thread_entry_id', 'outbox.status', 'outbox.last_error', 'outbox.envelope_to'])
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
      ])
      .where('thread_entries.case_id', '=', caseId)
      .orderBy('thread_entries.id', 'desc')
      .execute()
  );
}
