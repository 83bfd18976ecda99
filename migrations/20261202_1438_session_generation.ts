import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- A session carries the generation it was opened under (src/users/sessions.ts). A new password
    -- or a deactivation moves it on, which voids the older sessions even when a request in flight
    -- writes its session row back after they were deleted.
    alter table users add column session_generation integer not null default 0;
  `.execute(db);
}
