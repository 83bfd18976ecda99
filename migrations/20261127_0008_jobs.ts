import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One row per scheduled job (src/jobs/schedule.ts): its latest run. Shared by every instance,
    -- so "every N minutes" holds across them, and the last outcome is there to look at.
    create table jobs (
      name text primary key,
      last_started_at timestamptz,
      last_finished_at timestamptz,
      last_duration_ms integer,
      -- running: started and not finished (or the instance died meanwhile)
      last_status text check (last_status in ('running', 'ok', 'failed')),
      last_error text,
      -- what the last run did, in a line ("Support: 2 new cases, 1 reply")
      last_summary text,
      runs integer not null default 0
    );
  `.execute(db);
}
