import { type Kysely, sql } from 'kysely';

// Merging cases (issue 18, part 4): case B merged into A is closed with merged_into_id = A, and
// its thread entries, discussion posts, documents and history move to A, each remembering the
// case it came from (moved_from_case_id, shown beside it). moved_from_case_id has no foreign key:
// it is a note of where an entry was, and checking one on tables of millions of rows would scan
// them all as this migration runs, for no rule a merge does not keep itself (cases are never
// deleted).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table cases add column merged_into_id integer references cases (id);
    alter table thread_entries add column moved_from_case_id integer;
    alter table discussion_posts add column moved_from_case_id integer;
    alter table documents add column moved_from_case_id integer;
    alter table case_events add column moved_from_case_id integer;

    -- the target's history line: which case was merged into it ('merged' is the source's)
    alter table case_events drop constraint case_events_kind;
    alter table case_events add constraint case_events_kind check (kind in (
      'created', 'field_changed', 'reopened', 'kontroll_reminder', 'kontroll_closed', 'merged',
      'reply_added', 'email_queued', 'email_sent', 'email_recalled', 'mail_received',
      'auto_reply_received', 'mail_bounced', 'follow_up_created', 'follows_case', 'document_added',
      'document_version_added', 'document_deleted', 'discussion_post', 'discussion_post_deleted',
      'internal_note_saved', 'work_order_created', 'triage_cleared', 'sla_breached',
      'case_linked', 'case_unlinked', 'merged_in')) not valid;
  `.execute(db);
  // validated apart: the check scans every history row, under a lock that lets writers go on
  await sql`alter table case_events validate constraint case_events_kind`.execute(db);
}
