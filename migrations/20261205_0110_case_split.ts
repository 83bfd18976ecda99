import { type Kysely, sql } from 'kysely';

// Splitting a case (issue 18, part 5): chosen thread entries move to a new case, and each case's
// history says where they went or came from.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table case_events drop constraint case_events_kind;
    alter table case_events add constraint case_events_kind check (kind in (
      'created', 'field_changed', 'reopened', 'kontroll_reminder', 'kontroll_closed', 'merged',
      'reply_added', 'email_queued', 'email_sent', 'email_recalled', 'mail_received',
      'auto_reply_received', 'mail_bounced', 'follow_up_created', 'follows_case', 'document_added',
      'document_version_added', 'document_deleted', 'discussion_post', 'discussion_post_deleted',
      'internal_note_saved', 'work_order_created', 'triage_cleared', 'sla_breached',
      'case_linked', 'case_unlinked', 'merged_in', 'split_off', 'split_from')) not valid;
  `.execute(db);
  // validated apart: the check scans every history row, under a lock that lets writers go on
  await sql`alter table case_events validate constraint case_events_kind`.execute(db);
}
