import { type Kysely, sql } from 'kysely';

// The sender claims the next due messages in (next_attempt_at, id) order. Kontroll and the
// escalation job queue thousands of mails in one transaction, all due at the same now(); on an
// index of next_attempt_at alone PostgreSQL then sorted every one of them by id to hand out one:
// 72 ms per claim with 29,000 queued, several claims a second while a sender retried. With id in
// the index the claim reads its rows in order and stops at the first it may lock.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index outbox_due_order on outbox (next_attempt_at, id) where status = 'queued'`.execute(db);
  await sql`drop index outbox_due`.execute(db);
}
