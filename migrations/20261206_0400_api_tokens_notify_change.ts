import { type Kysely, sql } from 'kysely';

// API tokens are kept per process like sessions (src/api/tokens.ts, authenticateApiToken): every
// instance hears of a revoked or new token through the same NOTIFY as the sessions
// (migration 20261204_0600_sessions_notify_change).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create trigger api_tokens_notify_change
    after insert or update or delete or truncate on api_tokens
    for each statement execute function casedesk_notify_change()
  `.execute(db);
}
