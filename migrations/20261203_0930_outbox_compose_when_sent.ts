import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Kontroll's reminders are queued as what to write (compose) and composed by the sender when
    -- they go, with the mail settings of that moment; the raw message is stored then, so a retry
    -- and the E-mail OUT copy use the same bytes. Composing 20,000 reminders inside a Kontroll
    -- run took most of its CPU time (npm run bench -- kontroll).
    alter table outbox alter column raw drop not null;
    alter table outbox add column compose jsonb;
    alter table outbox add constraint outbox_raw_or_compose check (raw is not null or compose is not null);
  `.execute(db);
}
