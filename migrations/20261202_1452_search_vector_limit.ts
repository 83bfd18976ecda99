import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- A tsvector holds at most 1 MB. A mail of a megabyte of distinct words (a pasted log, a CSV)
    -- overflowed it: its thread entry could not be saved, so the mail failed on every try. Only
    -- the first 100,000 characters of an entry are indexed now, and when a case's words no
    -- longer fit, the entry or the change is saved all the same: a new entry's words are left
    -- out, a rebuilt vector keeps only the case's number, title and names.
    create or replace function case_search_document(case_id integer) returns tsvector language sql stable as $$
      select setweight(to_tsvector('swedish', c.number || ' ' || c.title), 'A')
          || setweight(to_tsvector('swedish', coalesce(cu.name, '') || ' ' || coalesce(c.contact_name, '')), 'B')
          || setweight(to_tsvector('swedish', coalesce((
               select string_agg(left(regexp_replace(t.body_html, '<[^>]*>', ' ', 'g'), 100000), ' ')
               from thread_entries t where t.case_id = c.id), '')), 'C')
      from cases c left join customers cu on cu.id = c.customer_id
      where c.id = case_id
    $$;

    create or replace function cases_refresh_search() returns trigger language plpgsql as $$
    begin
      update cases set search_vector = case_search_document(new.id) where id = new.id;
      return null;
    exception when program_limit_exceeded then
      update cases c
      set search_vector = setweight(to_tsvector('swedish', c.number || ' ' || c.title), 'A')
        || setweight(to_tsvector('swedish',
             coalesce((select cu.name from customers cu where cu.id = c.customer_id), '') || ' '
             || coalesce(c.contact_name, '')), 'B')
      where c.id = new.id;
      return null;
    end $$;

    create or replace function thread_entries_refresh_search() returns trigger language plpgsql as $$
    begin
      update cases
      set search_vector = search_vector
        || setweight(to_tsvector('swedish', left(regexp_replace(new.body_html, '<[^>]*>', ' ', 'g'), 100000)), 'C')
      where id = new.case_id;
      return null;
    exception when program_limit_exceeded then
      return null;
    end $$;
  `.execute(db);
}
