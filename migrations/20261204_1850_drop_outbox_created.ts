import { type Kysely, sql } from 'kysely';

// outbox_created (id desc) repeats the primary key, which PostgreSQL reads backwards for the
// administration's newest-first list just as well; every queued mail paid for keeping both (the
// escalation job queues 200,000 in one transaction: npm run bench -- escalation).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index outbox_created`.execute(db);
}
