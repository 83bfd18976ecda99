import { type Kysely, sql } from 'kysely';

// Who has a case open, and who is writing a reply on it (issue 18, part 1): each open case page
// upserts its user's row every ~10 s (src/presence/); the case page polls for the fresh rows of
// others. Kept in PostgreSQL so every app instance sees every viewer.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Unlogged: a heartbeat is worth nothing after a crash, and it is written every few seconds
    -- per open page, so it skips the WAL. No foreign keys: a heartbeat must never wait on a case
    -- row that the lifecycle holds locked (FOR UPDATE), and a row of a case or user that is gone
    -- is only a stale row, which nobody reads once it is 30 s old.
    create unlogged table case_viewers (
      case_id integer not null,
      user_id integer not null,
      -- typing in the case's reply box (the last heartbeat said so)
      typing boolean not null default false,
      -- the page (one load of it, in one window) that sent the latest heartbeat: leaving takes the
      -- row away only when it is still that page's, not when the next page already beat (a reply
      -- sent reloads the page, and the old page's beacon may arrive after the new one's heartbeat)
      page_id text,
      seen_at timestamptz not null default now(),
      -- the primary key serves the case page's poll (where case_id = $1 and seen_at > ...) and the upsert
      primary key (case_id, user_id)
    );
  `.execute(db);
}
