import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One-time keys of the create forms (reply, discussion post, internal note, new case, work
    -- order, upload): a second submit of the same rendered form (a double click, F2 twice, a resend
    -- after a lost answer) finds the first one's result here instead of doing the work again. The
    -- primary key decides a race: the second insert waits for the first transaction, then finds its row.
    create table form_submissions (
      key text primary key,
      user_id integer not null references users (id),
      -- which form used it (reply, case, …): a key is good for one form only
      form text not null,
      -- sha-256 of what the form carried: the same key with other content is refused, not answered
      fingerprint text,
      -- what the first submit made (ids, numbers), written in the same transaction as the work
      result jsonb,
      created_at timestamptz not null default now()
    );
    -- serves the daily clean-up of old keys
    create index form_submissions_created on form_submissions (created_at);
  `.execute(db);
}
