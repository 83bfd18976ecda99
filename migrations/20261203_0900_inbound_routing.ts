import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Who wrote each inbound mail and whom it was addressed to, lower-cased: the loop limit counts
    -- a sender's mails on a case, and the addresses a case has seen decide who may write into it.
    alter table inbound_messages add column from_address text;
    alter table inbound_messages add column addresses text[] not null default '{}';
    -- serves the loop limit: one sender's mails on one case within the last hour
    create index inbound_messages_case_sender on inbound_messages (case_id, from_address, received_at)
      where case_id is not null;
    -- serves Administration → Possible loops
    create index inbound_messages_possible_loop on inbound_messages (id) where outcome = 'possible_loop';

    -- Past this many mails an hour from one sender on one case, further ones are only kept
    -- ("possible loop"): a ticket system acknowledging our acknowledgements.
    alter table case_settings add column loop_limit_per_hour integer not null default 10
      check (loop_limit_per_hour between 1 and 1000);

    -- Why a case waits for a person's look before anyone answers it; null: it does not.
    -- unknown_sender_on_case: a sender the case did not know wrote into it (made a new case instead).
    alter table cases add column triage_reason text check (triage_reason in ('unknown_sender_on_case'));

    alter table case_events drop constraint case_events_kind;
    alter table case_events add constraint case_events_kind check (kind in (
      'created', 'field_changed', 'reopened', 'kontroll_reminder', 'kontroll_closed', 'merged',
      'reply_added', 'email_queued', 'email_sent', 'email_recalled', 'mail_received',
      'auto_reply_received', 'mail_bounced', 'follow_up_created', 'follows_case', 'document_added',
      'document_version_added', 'document_deleted', 'discussion_post', 'discussion_post_deleted',
      'internal_note_saved', 'work_order_created', 'triage_cleared'));
  `.execute(db);
}
