import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- A system entry's sentences as message keys and parameters (issue 15, item 10), written in
    -- each reader's language when the thread is shown. body_html keeps them once rendered in the
    -- writer's language for whatever reads only HTML. Older system entries have none and show
    -- their body_html as they always did.
    alter table thread_entries add column system_text jsonb;
  `.execute(db);
}
