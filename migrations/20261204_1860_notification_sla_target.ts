import { type Kysely, sql } from 'kysely';

// A service-level bell names its target ("Service level breached (Resolution): …"): when a case's
// response and resolution pass at once, its two bells read the same otherwise (found by the probe).
// The target's key, written in the reader's language when shown.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table notifications add column sla_target text
      check (sla_target in ('first_response', 'next_response', 'resolution'))
  `.execute(db);
}
