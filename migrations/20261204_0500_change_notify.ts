import { type Kysely, sql } from 'kysely';

// Every instance keeps the short lists it shows on each page (statuses, types, priorities, active
// users, canned replies) and drops them when told that one of their tables changed
// (src/db/change-feed.ts, src/db/cached.ts). A statement trigger tells, for any writer; NOTIFY is
// delivered at commit, and repeats within one transaction are sent once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function casedesk_notify_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify('casedesk_change', tg_table_name);
      return null;
    end $$;
  `.execute(db);
  for (const table of ['case_statuses', 'case_types', 'priorities', 'users', 'canned_replies']) {
    await sql`
      create trigger ${sql.raw(`${table}_notify_change`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function casedesk_notify_change()
    `.execute(db);
  }
}
