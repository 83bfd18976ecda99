import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table cases (
      id serial primary key,
      -- human-facing number from a number series, e.g. 2026-00042; the id stays internal
      number text not null unique,
      title text not null,
      -- null only for mail from unknown senders, kept for triage
      customer_id integer references customers (id),
      contact_id integer references contacts (id),
      contact_name text,
      contact_email text,
      contact_phone text,
      responsible_id integer references users (id),
      status_id integer not null references case_statuses (id),
      case_type_id integer not null references case_types (id),
      priority_id integer references priorities (id),
      due_date date,
      source text not null default 'manual' check (source in ('manual', 'email')),
      internal_note text not null default '',
      -- optimistic locking: an edit names the version it started from; a stale one is refused
      version integer not null default 1,
      internal_note_version integer not null default 1,
      created_by integer references users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      last_activity_at timestamptz not null default now()
    );
    -- serves "my open cases": responsible, then status
    create index cases_responsible_status on cases (responsible_id, status_id);
    create index cases_customer_id on cases (customer_id);

    -- every state change on a case: history on the page, and the source of notifications
    create table case_events (
      id bigserial primary key,
      case_id integer not null references cases (id) on delete cascade,
      user_id integer references users (id),
      kind text not null,
      field text,
      old_value text,
      new_value text,
      created_at timestamptz not null default now()
    );
    create index case_events_case_id on case_events (case_id, id desc);

    create table thread_entries (
      id bigserial primary key,
      case_id integer not null references cases (id) on delete cascade,
      side text not null check (side in ('customer', 'staff', 'system')),
      user_id integer references users (id),
      author_name text not null,
      author_email text,
      body_html text not null,
      -- to_send: waits for delivery to the customer; saved: stored only, sent later by hand
      delivery text not null default 'none' check (delivery in ('none', 'to_send', 'saved')),
      created_at timestamptz not null default now()
    );
    create index thread_entries_case_id on thread_entries (case_id, id desc);

    create table discussion_posts (
      id bigserial primary key,
      case_id integer not null references cases (id) on delete cascade,
      user_id integer not null references users (id),
      body_html text not null,
      created_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create index discussion_posts_case_id on discussion_posts (case_id, id desc);

    create table notifications (
      id bigserial primary key,
      user_id integer not null references users (id),
      actor_id integer references users (id),
      kind text not null,
      case_id integer references cases (id) on delete cascade,
      summary text not null,
      link text not null,
      read_at timestamptz,
      created_at timestamptz not null default now()
    );
    -- serves the bell: unread count per user
    create index notifications_unread on notifications (user_id) where read_at is null;
    create index notifications_user_id on notifications (user_id, id desc);

    -- file contents in PostgreSQL, in chunks so a download streams without holding the whole file
    create table files (
      id bigserial primary key,
      content_type text not null,
      size_bytes bigint not null,
      sha256 text not null,
      created_by integer references users (id),
      created_at timestamptz not null default now()
    );
    create table file_chunks (
      file_id bigint not null references files (id) on delete cascade,
      seq integer not null,
      data bytea not null,
      primary key (file_id, seq)
    );

    create table document_folders (
      id serial primary key,
      name text not null unique,
      -- folders the system fills (E-mail IN / OUT); they cannot be removed
      system_key text unique,
      position integer not null default 0,
      active boolean not null default true
    );
    insert into document_folders (name, system_key, position) values
      ('Allmänt', null, 1), ('E-mail IN', 'email_in', 90), ('E-mail OUT', 'email_out', 91);

    create table documents (
      id bigserial primary key,
      case_id integer references cases (id) on delete cascade,
      folder_id integer not null references document_folders (id),
      file_id bigint not null references files (id),
      file_name text not null,
      created_by integer references users (id),
      created_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create index documents_case_id on documents (case_id) where deleted_at is null;

    -- images pasted into rich text; the random token in the URL is what grants access
    create table inline_images (
      id bigserial primary key,
      token text not null unique,
      file_id bigint not null references files (id),
      case_id integer references cases (id) on delete set null,
      created_by integer references users (id),
      created_at timestamptz not null default now()
    );
  `.execute(db);
}
