import { type Kysely, sql } from 'kysely';

// The reports page (src/reports/) reads one narrow row per case instead of cases, thread_entries
// and case_events: counts per day are range scans on created_at / closed_at, and the medians and
// 90th percentiles of first response and resolution (which cannot be summed into daily rollups)
// are an ordered aggregate over the period's rows of this table alone. Kept by statement triggers
// with transition tables, in the same transaction as the change, like case_tile_counts
// (migration 20261204_0440): whatever writes cases or thread_entries moves the facts with it.
// The day of a fact is taken at query time in the configured time zone (config.timeZone), which
// the database does not know; so the facts hold instants, not days.

// The first staff reply to the customer (not one only saved) of each case in `ids` (a select of case_id), read
// afresh on the thread_entries_case_id index: an inserted, changed or deleted reply is all the same.
const refreshFirstResponse = (ids: string) => `
    update case_report_facts f set first_response_at = r.at
    from (
      select i.case_id, (
        select min(t.created_at) from thread_entries t
        where t.case_id = i.case_id and t.side = 'staff' and t.delivery <> 'saved'
      ) as at
      from (select distinct case_id from (${ids}) x) i
    ) r
    where f.case_id = r.case_id and f.first_response_at is distinct from r.at`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`
    -- One row per case with what the reports count and filter by. first_response_at: the first
    -- staff reply to the customer (thread_entries side staff, delivery to_send, or none as the
    -- synthetic seed writes them; a saved reply is stored, not sent); closed_at as
    -- the case holds it (a reopened case has none, so it counts as closed on its last closure).
    create table case_report_facts (
      case_id integer primary key references cases (id) on delete cascade,
      customer_id integer,
      case_type_id integer not null,
      priority_id integer,
      responsible_id integer,
      source text not null,
      created_at timestamptz not null,
      closed_at timestamptz,
      first_response_at timestamptz,
      -- the service level the case runs by, and whether any of its deadlines was ever missed
      -- (a case_events row of kind sla_breached)
      sla_policy_id integer,
      sla_breached boolean not null default false,
      -- the times the percentiles sort, worked out once per write rather than per row read
      first_response_hours real generated always as (extract(epoch from (first_response_at - created_at)) / 3600) stored,
      resolution_hours real generated always as (extract(epoch from (closed_at - created_at)) / 3600) stored
    );
    -- cases in per day and the period's response times: a range of created_at (the covering
    -- columns let the filters and the times come from the index alone)
    create index case_report_facts_created on case_report_facts (created_at)
      include (customer_id, case_type_id, priority_id, responsible_id, source, first_response_hours, sla_policy_id, sla_breached);
    -- cases closed per day and resolution times: a range of closed_at
    create index case_report_facts_closed on case_report_facts (closed_at)
      include (customer_id, case_type_id, priority_id, responsible_id, resolution_hours) where closed_at is not null;
    -- backlog and workload now: the unfinished cases
    create index case_report_facts_open on case_report_facts (responsible_id, created_at) where closed_at is null;

    create function cases_report_facts() returns trigger language plpgsql as $$
    begin
      -- An upsert for updates too: a case written while triggers were off (a bulk load before its
      -- rebuild) gets its row at its next change rather than staying missing. Most updates
      -- (activity, search vector, title) change nothing here and write nothing.
      insert into case_report_facts
        (case_id, customer_id, case_type_id, priority_id, responsible_id, source, created_at, closed_at, sla_policy_id)
      select id, customer_id, case_type_id, priority_id, responsible_id, source, created_at, closed_at, sla_policy_id
      from new_rows
      order by id
      on conflict (case_id) do update set
        customer_id = excluded.customer_id, case_type_id = excluded.case_type_id,
        priority_id = excluded.priority_id, responsible_id = excluded.responsible_id, source = excluded.source,
        created_at = excluded.created_at, closed_at = excluded.closed_at, sla_policy_id = excluded.sla_policy_id
      where (case_report_facts.customer_id, case_report_facts.case_type_id, case_report_facts.priority_id,
          case_report_facts.responsible_id, case_report_facts.source, case_report_facts.created_at,
          case_report_facts.closed_at, case_report_facts.sla_policy_id)
        is distinct from (excluded.customer_id, excluded.case_type_id, excluded.priority_id,
          excluded.responsible_id, excluded.source, excluded.created_at, excluded.closed_at, excluded.sla_policy_id);
      return null;
    end $$;
    comment on function cases_report_facts() is
      'Keeps case_report_facts (src/reports/) equal to cases in the same transaction.';
    create trigger cases_report_facts_insert after insert on cases
      referencing new table as new_rows for each statement execute function cases_report_facts();
    create trigger cases_report_facts_update after update on cases
      referencing new table as new_rows for each statement execute function cases_report_facts();

    create function thread_entries_report_facts() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${refreshFirstResponse("select case_id from new_rows where side = 'staff' and delivery <> 'saved'")};
      elsif tg_op = 'UPDATE' then
        ${refreshFirstResponse(
          "select case_id from new_rows where side = 'staff' union all select case_id from old_rows where side = 'staff'",
        )};
      else
        ${refreshFirstResponse("select case_id from old_rows where side = 'staff' and delivery <> 'saved'")};
      end if;
      return null;
    end $$;
    create trigger thread_entries_report_facts_insert after insert on thread_entries
      referencing new table as new_rows for each statement execute function thread_entries_report_facts();
    create trigger thread_entries_report_facts_update after update on thread_entries
      referencing old table as old_rows new table as new_rows for each statement execute function thread_entries_report_facts();
    create trigger thread_entries_report_facts_delete after delete on thread_entries
      referencing old table as old_rows for each statement execute function thread_entries_report_facts();

    -- A missed deadline marks the case for good (the SLA compliance figure).
    create function case_events_report_facts() returns trigger language plpgsql as $$
    begin
      update case_report_facts f set sla_breached = true
      from (select distinct case_id from new_rows where kind = 'sla_breached') b
      where f.case_id = b.case_id and not f.sla_breached;
      return null;
    end $$;
    create trigger case_events_report_facts_insert after insert on case_events
      referencing new table as new_rows for each statement execute function case_events_report_facts();

    -- Builds every fact afresh, set-wise: here, and after writers that bypass triggers (the
    -- synthetic seed inserts with session_replication_role = replica).
    create function case_report_facts_rebuild() returns void language plpgsql as $$
    begin
      lock table cases in share mode;
      lock table thread_entries in share mode;
      lock table case_events in share mode;
      delete from case_report_facts;
      insert into case_report_facts
        (case_id, customer_id, case_type_id, priority_id, responsible_id, source, created_at, closed_at,
         first_response_at, sla_policy_id, sla_breached)
      select c.id, c.customer_id, c.case_type_id, c.priority_id, c.responsible_id, c.source, c.created_at, c.closed_at,
        r.at, c.sla_policy_id, exists (select from case_events e where e.case_id = c.id and e.kind = 'sla_breached')
      from cases c
      left join (
        select case_id, min(created_at) as at from thread_entries
        where side = 'staff' and delivery <> 'saved' group by case_id
      ) r on r.case_id = c.id;
    end $$;

    -- the reports' Kontroll figures: a period's reminders and closures without answer
    create index case_events_kontroll on case_events (created_at, case_id)
      where kind in ('kontroll_reminder', 'kontroll_closed');

    select case_report_facts_rebuild();
  `)
    .execute(db);
}
