import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- "Read mail" on demand runs in the background (issue 15, item 11): the POST starts a run and
    -- answers at once; the progress page (on any instance) reads how far it came from here.
    create table mail_reads (
      id bigserial primary key,
      started_by integer references users (id) on delete set null,
      state text not null default 'running' check (state in ('running', 'done', 'abandoned')),
      -- per active mailbox, in reading order: { mailbox: {id, name}, state: waiting|reading|done,
      -- report: what fetch.ts's readMailbox said (counts, busy, error) once done }
      mailboxes jsonb not null default '[]',
      -- the run itself failed (the database, a bug), not a mailbox
      error text,
      started_at timestamptz not null default now(),
      -- the running instance touches this every few seconds; a run whose instance died stops
      -- touching it and is set 'abandoned' by the next Read mail, which then starts afresh
      heartbeat_at timestamptz not null default now(),
      finished_at timestamptz
    );
    -- One running read at all: a second Read mail (a double click, a colleague, another
    -- instance) conflicts here and joins the running one instead of starting another.
    create unique index mail_reads_one_running on mail_reads ((true)) where state = 'running';
  `.execute(db);
}
