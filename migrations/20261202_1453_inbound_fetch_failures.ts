import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Messages the IMAP server failed to hand out (a broken file on its side, after which Dovecot
    -- drops the connection; a download that times out each time), counted once per read run. Read
    -- mail tries such a message on a few runs, then records it as failed and goes on: one bad
    -- message holds up its mailbox for minutes, never for ever.
    create table inbound_fetch_failures (
      mailbox_id integer not null references mailboxes (id) on delete cascade,
      uid_validity bigint not null,
      uid bigint not null,
      attempts integer not null default 1,
      error text not null,
      last_failed_at timestamptz not null default now(),
      primary key (mailbox_id, uid_validity, uid)
    );
  `.execute(db);
}
