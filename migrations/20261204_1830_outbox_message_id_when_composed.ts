import { type Kysely, sql } from 'kysely';

// Notification mails (the escalation job queues 200,000 at once) are queued as what to write and
// get their Message-ID when the sender composes them: nobody can answer a mail before it has gone,
// so ingest and bounces, which look a Message-ID up only after a mail came back, find it all the
// same. Random IDs inserted into the unique index by the hundred thousand took seconds of the
// job's transaction (npm run bench -- escalation); nulls are not unique and cost next to nothing.
// A composed message always has its ID: the raw bytes carry it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table outbox alter column message_id drop not null;
    alter table outbox add constraint outbox_message_id_when_composed
      check (message_id is not null or raw is null);
  `.execute(db);
}
