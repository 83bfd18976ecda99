import { type Kysely, sql } from 'kysely';

// The outbox by case. The case page reads each reply's mail status from the case's outbox rows
// (src/threads/threads.ts), and ingest reads the addresses the case's replies went to
// (src/mail/inbound/queries.ts): with no index on case_id both read the whole outbox, which keeps
// every mail ever sent. On the 1M-case bench data (31,000 outbox rows) the case page's thread
// took 80 ms, nearly all of it that scan.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index outbox_case on outbox (case_id) where case_id is not null`.execute(db);
}
