import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- "Send now" holds a reply's e-mail this many seconds so its writer can Undo it; 0: no hold.
    alter table case_settings add column undo_send_seconds integer not null default 10
      check (undo_send_seconds between 0 and 120);

    -- Held for Undo until then (database time, so every instance agrees): the sender claims the
    -- message only after it, and Undo takes it back only before it.
    alter table outbox add column held_until timestamptz;
    -- serves the sender's wake-up when the next hold ends
    create index outbox_held on outbox (held_until) where status = 'queued' and held_until is not null;

    -- A reply taken back by Undo, waiting in its writer's reply box on the case until it is sent,
    -- saved or discarded.
    create table reply_drafts (
      case_id integer not null references cases (id) on delete cascade,
      user_id integer not null references users (id),
      body_html text not null,
      -- as the reply box's fields take them: addresses separated by commas
      to_addresses text not null default '',
      cc_addresses text not null default '',
      document_ids bigint[] not null default '{}',
      set_waiting boolean not null default false,
      -- the thread entry Undo took it from, so a second Undo of that entry answers like the first
      recalled_entry_id bigint,
      updated_at timestamptz not null default now(),
      primary key (case_id, user_id)
    );
  `.execute(db);
}
