import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- null: the password is being checked. The attempt is recorded before the check, in the same
    -- locked step that counts the earlier ones (src/users/login.ts), so parallel guesses cannot all
    -- pass the count; a check that never finished (the process died) stays counted as a failure.
    alter table login_attempts alter column succeeded drop not null;
  `.execute(db);
}
