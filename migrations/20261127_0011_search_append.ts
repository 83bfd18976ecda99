import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- A new thread entry adds its own words to the case's search vector instead of rebuilding the
    -- vector from the whole thread: a reply on a long case costs the same as on a short one.
    create or replace function thread_entries_refresh_search() returns trigger language plpgsql as $$
    begin
      update cases
      set search_vector = search_vector
        || setweight(to_tsvector('swedish', regexp_replace(new.body_html, '<[^>]*>', ' ', 'g')), 'C')
      where id = new.case_id;
      return null;
    end $$;
  `.execute(db);
}
