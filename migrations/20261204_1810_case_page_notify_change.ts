import { type Kysely, sql } from 'kysely';

// What the case page shows is kept per process too (src/case-page/page.ts): the tables its tabs
// read besides those of the overview tell of their changes through the same NOTIFY (migration
// 20261204_0500_change_notify), once per table and transaction.
const tables = [
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
