import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The kind of the case's status, copied onto the case so the overview's partial indexes can
    -- hold only unfinished cases (~3% of all). Triggers keep it right whoever writes.
    alter table cases add column status_kind text not null default 'open'
      check (status_kind in ('open', 'waiting', 'work_order', 'closed'));
    update cases set status_kind = s.kind from case_statuses s where s.id = cases.status_id;

    create function cases_copy_status_kind() returns trigger language plpgsql as $$
    begin
      new.status_kind := (select kind from case_statuses where id = new.status_id);
      return new;
    end $$;
    create trigger cases_status_kind before insert or update of status_id on cases
      for each row execute function cases_copy_status_kind();

    create function case_statuses_propagate_kind() returns trigger language plpgsql as $$
    begin
      update cases set status_kind = new.kind where status_id = new.id;
      return null;
    end $$;
    create trigger case_statuses_kind after update of kind on case_statuses
      for each row when (old.kind is distinct from new.kind) execute function case_statuses_propagate_kind();

    -- Full-text search over number, title, customer name and the thread (Swedish stemming).
    alter table cases add column search_vector tsvector not null default ''::tsvector;

    create function case_search_document(case_id integer) returns tsvector language sql stable as $$
      select setweight(to_tsvector('swedish', c.number || ' ' || c.title), 'A')
          || setweight(to_tsvector('swedish', coalesce(cu.name, '') || ' ' || coalesce(c.contact_name, '')), 'B')
          || setweight(to_tsvector('swedish', coalesce((
               select string_agg(regexp_replace(t.body_html, '<[^>]*>', ' ', 'g'), ' ')
               from thread_entries t where t.case_id = c.id), '')), 'C')
      from cases c left join customers cu on cu.id = c.customer_id
      where c.id = case_id
    $$;

    create function cases_refresh_search() returns trigger language plpgsql as $$
    begin
      update cases set search_vector = case_search_document(new.id) where id = new.id;
      return null;
    end $$;
    -- Fires only when these columns are written, so its own update of search_vector does not loop.
    create trigger cases_search_on_case after insert or update of number, title, customer_id, contact_name on cases
      for each row execute function cases_refresh_search();

    create function thread_entries_refresh_search() returns trigger language plpgsql as $$
    begin
      update cases set search_vector = case_search_document(new.case_id) where id = new.case_id;
      return null;
    end $$;
    create trigger thread_entries_search after insert on thread_entries
      for each row execute function thread_entries_refresh_search();

    update cases set search_vector = case_search_document(id);

    -- serves the free-text filter of the overview
    create index cases_search on cases using gin (search_vector);
    -- serves exact and prefix matches on the case number (e.g. "2026-000")
    create index cases_number_prefix on cases (number text_pattern_ops);
    -- serves "my open cases" and the responsible filter on unfinished cases, newest activity first
    create index cases_unfinished_responsible on cases (responsible_id, last_activity_at desc)
      where status_kind <> 'closed';
    -- serves the tiles: counts over unfinished cases answered from the index alone
    create index cases_unfinished_tiles on cases (status_kind, responsible_id, due_date)
      where status_kind <> 'closed';
    -- serves the overview over all cases sorted by last activity (deep pages of closed cases)
    create index cases_last_activity on cases (last_activity_at desc, id desc);
    -- serves the "New today" tile
    create index cases_created_at on cases (created_at);
    -- serves the status filter over all cases, newest activity first
    create index cases_status_activity on cases (status_id, last_activity_at desc);

    create table saved_views (
      id serial primary key,
      user_id integer not null references users (id) on delete cascade,
      name text not null,
      -- the overview's query string, e.g. "resp=me&kind=waiting"
      query text not null,
      created_at timestamptz not null default now(),
      unique (user_id, name)
    );
  `.execute(db);
}
