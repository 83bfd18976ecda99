import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Issue 16: a word typed without its accents finds the thread too ("orjan" finds "Örjan", "ar
    -- trasig" finds "är trasig"), as it already found titles and names (migration 0450). The case's
    -- search vector is built with the same text search configuration, casedesk_search (unaccent,
    -- then Swedish stemming), by the triggers and the functions they call.
    create or replace function case_search_document(case_id integer) returns tsvector language sql stable as $$
      select setweight(to_tsvector('public.casedesk_search'::regconfig, c.number || ' ' || c.title), 'A')
          || setweight(to_tsvector('public.casedesk_search'::regconfig,
               coalesce(cu.name, '') || ' ' || coalesce(c.contact_name, '')), 'B')
          || setweight(to_tsvector('public.casedesk_search'::regconfig, coalesce((
               select string_agg(left(regexp_replace(t.body_html, '<[^>]*>', ' ', 'g'), 100000), ' ')
               from thread_entries t where t.case_id = c.id), '')), 'C')
      from cases c left join customers cu on cu.id = c.customer_id
      where c.id = case_id
    $$;

    -- The document when the whole one does not fit in a tsvector (1 MB): number, title and names.
    create function case_search_head_document(number text, title text, customer_name text, contact_name text)
      returns tsvector language sql immutable parallel safe as $$
      select setweight(to_tsvector('public.casedesk_search'::regconfig, number || ' ' || title), 'A')
          || setweight(to_tsvector('public.casedesk_search'::regconfig,
               coalesce(customer_name, '') || ' ' || coalesce(contact_name, '')), 'B')
    $$;

    create or replace function cases_refresh_search() returns trigger language plpgsql as $$
    begin
      update cases set search_vector = case_search_document(new.id) where id = new.id;
      return null;
    exception when program_limit_exceeded then
      update cases c
      set search_vector = case_search_head_document(c.number, c.title,
        (select cu.name from customers cu where cu.id = c.customer_id), c.contact_name)
      where c.id = new.id;
      return null;
    end $$;

    create or replace function thread_entries_refresh_search() returns trigger language plpgsql as $$
    begin
      update cases
      set search_vector = search_vector || setweight(to_tsvector('public.casedesk_search'::regconfig,
        left(regexp_replace(new.body_html, '<[^>]*>', ' ', 'g'), 100000)), 'C')
      where id = new.case_id;
      return null;
    exception when program_limit_exceeded then
      return null;
    end $$;

    -- Every case's vector once more with the new configuration, computed from the row being
    -- rewritten and its thread. A rewrite of the table (alter ... type ... using) rather than an
    -- update: it writes each row once, leaves no million dead rows behind, and builds every index
    -- afresh in bulk instead of adding a million entries to each.
    create function pg_temp.rebuilt_search_vector(id integer, number text, title text, customer_id integer,
      contact_name text) returns tsvector language plpgsql stable as $$
    declare
      customer_name text := (select cu.name from customers cu where cu.id = customer_id);
    begin
      return case_search_head_document(number, title, customer_name, contact_name)
        || setweight(to_tsvector('public.casedesk_search'::regconfig, coalesce((
             select string_agg(left(regexp_replace(t.body_html, '<[^>]*>', ' ', 'g'), 100000), ' ' order by t.id)
             from thread_entries t where t.case_id = rebuilt_search_vector.id), '')), 'C');
    exception when program_limit_exceeded then
      return case_search_head_document(number, title, customer_name, contact_name);
    end $$;
    alter table cases alter column search_vector type tsvector
      using pg_temp.rebuilt_search_vector(id, number, title, customer_id, contact_name);
    drop function pg_temp.rebuilt_search_vector(integer, text, text, integer, text);

    -- Issue 16: "19" finds case 2026-00019. A case number's serial without its leading zeros; the
    -- overview's search (src/cases/overview.ts, numberCondition) looks a typed number up here.
    create function case_number_serial(number text) returns text language sql immutable parallel safe as $$
      select nullif(ltrim(substring(number from '([0-9]+)$'), '0'), '')
    $$;
    create index cases_number_serial on cases (case_number_serial(number));

    -- The search vector's statistics went with the rewrite, and the serial index has none yet: the
    -- planner needs them to tell a common word from a rare one, and a serial from a common value.
    analyze cases;
  `.execute(db);
}
