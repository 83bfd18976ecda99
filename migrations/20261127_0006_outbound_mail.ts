import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One row: how mail leaves (SMTP) and how it is addressed. SMTP_URL, when set, overrides the server part.
    create table mail_settings (
      id integer primary key default 1 check (id = 1),
      smtp_host text,
      smtp_port integer check (smtp_port between 1 and 65535),
      -- none: plain; starttls: upgrade on port 587; tls: implicit TLS on port 465
      smtp_security text not null default 'starttls' check (smtp_security in ('none', 'starttls', 'tls')),
      smtp_user text,
      -- encrypted with the app secret "mail-settings"; never shown back in the UI
      smtp_password_encrypted text,
      from_name text not null default 'Casedesk',
      from_address text not null default 'support@casedesk.invalid',
      -- the mailbox "Read mail" reads; replies from customers should come back there
      reply_to_address text,
      -- how the case number appears in subjects; {number} is replaced
      subject_tag text not null default '[#{number}]',
      updated_at timestamptz not null default now()
    );
    insert into mail_settings (id) values (1);

    -- The RFC 5322 Message-ID of each entry (ours when we send it, the customer's when it came in),
    -- so replies thread in mail programs and inbound mail can be matched to its case.
    alter table thread_entries add column message_id text;
    create unique index thread_entries_message_id on thread_entries (message_id) where message_id is not null;

    -- Every message that leaves: composed once (raw MIME kept), so the preview, each retry and the
    -- E-mail OUT copy are the very same bytes with the same Message-ID.
    create table outbox (
      id bigserial primary key,
      kind text not null check (kind in ('reply', 'notification', 'test', 'system')),
      case_id integer references cases (id) on delete set null,
      thread_entry_id bigint references thread_entries (id) on delete set null,
      message_id text not null unique,
      envelope_from text not null,
      envelope_to text[] not null,
      subject text not null,
      raw bytea not null,
      -- draft: composed for a preview, not yet released; queued → sending → sent | failed; cancelled
      status text not null default 'queued'
        check (status in ('draft', 'queued', 'sending', 'sent', 'failed', 'cancelled')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      -- temporary failures are retried until then; a manual retry moves it on
      give_up_at timestamptz not null default now() + interval '24 hours',
      -- a sender that dies mid-send releases its claim when this passes
      locked_until timestamptz,
      last_error text,
      sent_at timestamptz,
      created_by integer references users (id),
      created_at timestamptz not null default now()
    );
    -- serves the sender's claim: due queued messages, oldest first
    create index outbox_due on outbox (next_attempt_at) where status = 'queued';
    -- serves the recovery of claims left by a crashed sender
    create index outbox_sending on outbox (locked_until) where status = 'sending';
    -- serves the thread's delivery state per reply
    create index outbox_thread_entry on outbox (thread_entry_id) where thread_entry_id is not null;
    -- serves the administration outbox list, newest first
    create index outbox_created on outbox (id desc);

    -- documents attached to a reply, sent with it
    create table thread_entry_attachments (
      thread_entry_id bigint not null references thread_entries (id) on delete cascade,
      document_id bigint not null references documents (id),
      primary key (thread_entry_id, document_id)
    );

    -- each user chooses which notifications also arrive by e-mail
    alter table users add column email_on_mention boolean not null default true;
    alter table users add column email_on_assigned boolean not null default true;
  `.execute(db);
}
