import { type Kysely, sql } from 'kysely';

// The overview's rows and counts (src/cases/overview.ts) and what the case page shows
// (src/case-page/page.ts) are kept per process as well: every table they are read from tells of its
// changes through the same NOTIFY as the register lists (migration 20261204_0500_change_notify).
// One notification per table and transaction, whatever it wrote, so a bulk change costs one.
const tables = [
  'cases',
  'case_tile_counts',
  'customers',
  'contacts',
  'work_orders',
  'notifications',
  'saved_views',
  'approval_chains',
  'thread_entries',
  'inbound_messages',
  'outbox',
  'drafts',
  'discussion_posts',
  'case_events',
  'documents',
  'document_folders',
  'files',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of tables) {
    await sql`
      create trigger ${sql.raw(`${table}_notify_change`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function casedesk_notify_change()
    `.execute(db);
  }
}
