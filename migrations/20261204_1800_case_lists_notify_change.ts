import { type Kysely, sql } from 'kysely';

// The overview's rows and counts are kept per process as well (src/cases/overview-routes.ts): every
// table they are read from tells of its changes through the same NOTIFY as the register lists
// (migration 20261204_0500_change_notify). One notification per table and transaction, whatever it
// wrote, so a bulk change costs one.
const tables = [
  'cases',
  'case_tile_counts',
  'customers',
  'contacts',
  'work_orders',
  'notifications',
  'saved_views',
  'approval_chains',
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
