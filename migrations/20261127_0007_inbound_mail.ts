import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- IMAP mailboxes that "Read mail" reads; new cases from each get its defaults.
    create table mailboxes (
      id serial primary key,
      name text not null unique,
      imap_host text not null,
      imap_port integer not null default 993 check (imap_port between 1 and 65535),
      -- tls: implicit TLS (993); starttls: upgrade (143); none: plain, for loopback tests only
      imap_security text not null default 'tls' check (imap_security in ('tls', 'starttls', 'none')),
      imap_user text not null,
      -- encrypted like the SMTP password; never shown back
      imap_password_encrypted text,
      folder text not null default 'INBOX',
      after_read text not null default 'seen' check (after_read in ('seen', 'move')),
      move_to_folder text,
      default_case_type_id integer references case_types (id),
      default_status_id integer references case_statuses (id),
      default_responsible_id integer references users (id),
      default_priority_id integer references priorities (id),
      active boolean not null default true,
      last_read_at timestamptz,
      last_error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    -- Every message read, stored before it is processed and before the server hears it was read.
    -- (mailbox, uidvalidity, uid) makes a second fetch of the same message a no-op.
    create table inbound_messages (
      id bigserial primary key,
      source text not null check (source in ('imap', 'import')),
      mailbox_id integer references mailboxes (id) on delete set null,
      uid_validity bigint,
      uid bigint,
      message_id text,
      file_id bigint not null references files (id),
      size_bytes bigint not null,
      -- pending: stored, not yet processed; processed: became a case or entry; ignored: bounce,
      -- auto-reply, our own mail; failed: kept for a retry from administration
      status text not null default 'pending' check (status in ('pending', 'processed', 'ignored', 'failed')),
      outcome text,
      case_id integer references cases (id) on delete set null,
      thread_entry_id bigint references thread_entries (id) on delete set null,
      error text,
      attempts integer not null default 0,
      received_at timestamptz not null default now(),
      processed_at timestamptz,
      unique (mailbox_id, uid_validity, uid)
    );
    -- serves the "failed mail" list and the retry of pending messages
    create index inbound_messages_open on inbound_messages (status, id) where status in ('pending', 'failed');
    -- serves "have we seen this Message-ID before" when the same mail arrives twice
    create index inbound_messages_message_id on inbound_messages (message_id) where message_id is not null;

    -- Cases from senders we could not place; shown for triage until a customer is set.
    alter table cases add column unknown_sender boolean not null default false;
    -- A reply to a long-closed case opens a new case that points back at the old one.
    alter table cases add column previous_case_id integer references cases (id);
    -- The sender of a customer entry that came by mail (for "add contact to customer").
    alter table thread_entries add column inbound_message_id bigint references inbound_messages (id);

    -- General settings as one row (reopen window for mail to closed cases, read-mail interval).
    create table case_settings (
      id integer primary key default 1 check (id = 1),
      reopen_closed_within_days integer not null default 14 check (reopen_closed_within_days >= 0),
      read_mail_every_minutes integer not null default 1 check (read_mail_every_minutes between 1 and 1440),
      max_inbound_mb integer not null default 25 check (max_inbound_mb between 1 and 200),
      updated_at timestamptz not null default now()
    );
    insert into case_settings (id) values (1);
  `.execute(db);
}
