import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- When the case was closed, stored as a fact (null unless closed) rather than guessed from its
    -- history: the reopen window of a customer's reply is measured from it. Written by
    -- applyCaseEvent (src/cases/case-events.ts) with status_id and waiting_since.
    alter table cases add column closed_at timestamptz;
    -- The latest status change, whichever way it was written (Kontroll's close event carried no
    -- field until now), else the last activity, as the reopen rule guessed it before.
    update cases c set closed_at = coalesce(
      (select max(e.created_at) from case_events e
        where e.case_id = c.id and (e.field = 'status_id' or e.kind = 'kontroll_closed')),
      c.last_activity_at)
    where c.status_kind = 'closed';

    -- The kinds the code writes (src/cases/case-events.ts caseEventKinds); every kind any version
    -- has written is among them, so existing rows need no mapping.
    alter table case_events add constraint case_events_kind check (kind in (
      'created', 'field_changed', 'reopened', 'kontroll_reminder', 'kontroll_closed', 'merged',
      'reply_added', 'email_queued', 'email_sent', 'email_recalled', 'mail_received',
      'auto_reply_received', 'mail_bounced', 'follow_up_created', 'follows_case', 'document_added',
      'document_version_added', 'document_deleted', 'discussion_post', 'discussion_post_deleted',
      'internal_note_saved', 'work_order_created'));

    -- A reply to the customer restarts the waiting clock in applyCaseEvent ('reply_sent') now.
    drop trigger thread_entries_restart_waiting on thread_entries;
    drop function thread_entries_restart_waiting();

    comment on function cases_track_waiting_since() is
      'Mirror of the waiting clock in src/cases/lifecycle.ts, for writers that bypass applyCaseEvent (bulk seeding, test fixtures). applyCaseEvent sets waiting_since itself, which this keeps.';
    comment on function cases_copy_status_kind() is
      'Keeps cases.status_kind, the overview''s copy of the status''s kind, right for every writer, including an administrator changing a status''s kind (case_statuses_propagate_kind).';
  `.execute(db);
}
