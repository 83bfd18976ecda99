import { type Kysely, sql } from 'kysely';

// Sessions are kept per process too (src/web/session-store.ts): every instance hears of a written
// or deleted session (a logout, sessions ended by a password change) through the same NOTIFY as
// the register lists (migration 20261204_0500_change_notify).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create trigger sessions_notify_change
    after insert or update or delete or truncate on sessions
    for each statement execute function casedesk_notify_change()
  `.execute(db);
}
