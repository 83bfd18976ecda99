import { type Kysely, sql } from 'kysely';

// Monthly rollups of the reports' times, channels and closures per person (src/reports/queries.ts). A year of a million cases is some
// 300,000 facts, and the page's medians and 90th percentiles sorted them all, four times per
// period and again for the period before: 600-800 ms, where the issue allows 300. Percentiles do
// not add up, but counts of each value do: with the times counted in tenths of an hour (the
// page's own precision), a UTC month of first responses holds a few hundred distinct values and
// of resolutions a few thousand, so a year is read from tens of thousands of rows instead of
// sorting hundreds of thousands. The cases in per channel and closed per person, which a year
// counted by a pass over its facts each, are kept the same way. The days of a period that do not
// fill a UTC month (its edges, which depend on config.timeZone, unknown to the database) are
// counted from the facts.
//
// Kept by a statement trigger on case_report_facts, in the same transaction as the change (and so
// as the change to cases or thread_entries behind it). Like case_tile_counts (migration
// 20261204_0440), each transaction adds to rows of its own (slot = its backend's pid), so
// concurrent writers never wait for each other on a hot count (every new case adds to "no first
// response yet" of the month), and the job fold-report-times folds them into slot 0.

// What a set of fact rows `rows` counts for, with n = +1 (a row that now is) or -1 (one that was):
//   first_response, first_response_business, sla: by the UTC month of created_at, one per case
//     (null: no reply yet, no service level; sla: 0 kept, 1 breached, null without one);
//   channel: by the UTC month of created_at, the case's source in label;
//   resolution, resolution_business: by the UTC month of closed_at, one per closed case;
//   closed_by: by the UTC month of closed_at, the responsible (null: nobody) in value.
const contributions = (rows: string, n: string) => `
    select m.metric, m.month, m.value, m.label, ${n} as n
    from ${rows} r
    cross join lateral (values
      ('first_response', date_trunc('month', r.created_at, 'UTC'), report_tenths(r.first_response_hours), null),
      ('first_response_business', date_trunc('month', r.created_at, 'UTC'), report_tenths(r.first_response_business_hours), null),
      ('sla', date_trunc('month', r.created_at, 'UTC'),
        case when r.sla_policy_id is null then null when r.sla_breached then 1 else 0 end, null),
      ('channel', date_trunc('month', r.created_at, 'UTC'), null, r.source),
      ('resolution', date_trunc('month', r.closed_at, 'UTC'), report_tenths(r.resolution_hours), null),
      ('resolution_business', date_trunc('month', r.closed_at, 'UTC'), report_tenths(r.resolution_business_hours), null),
      ('closed_by', date_trunc('month', r.closed_at, 'UTC'), r.responsible_id, null)
    ) as m(metric, month, value, label)
    where m.month is not null`;

// One aggregated delta per count, locked in key order (two statements never wait on each other in
// opposite orders); zero deltas (an open case handed to another agent) write nothing.
const addDeltas = (changes: string, slot: string) => `
    insert into case_report_times (metric, month, value, label, slot, n)
    select d.metric, d.month, d.value, d.label, ${slot}, d.n
    from (select c.metric, c.month, c.value, c.label, sum(c.n)::integer as n from (${changes}) c group by 1, 2, 3, 4) d
    where d.n <> 0
    order by d.metric, d.month, d.value, d.label
    on conflict (metric, month, value, label, slot) do update set n = case_report_times.n + excluded.n`;

const counted =
  'created_at, closed_at, first_response_hours, first_response_business_hours, resolution_hours, resolution_business_hours, sla_policy_id, sla_breached, source, responsible_id';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`
    -- A time in tenths of an hour, rounded half up: how the reports count every time (the
    -- rollups, the edges of a period and the filtered reports alike). In double precision, which is
    -- twice as fast over a year's facts as numeric; the 0.001 tenth (0.36 s) above the half makes
    -- up for the binary float's error (0.35 h is stored as 0.3499999940…), which stays below that
    -- for times under a thousand hours.
    create function report_tenths(hours real) returns integer language sql immutable parallel safe
      as $$ select floor(hours::float8 * 10 + 0.501)::integer $$;

    -- An agent's report (their own cases, the default) reads their facts alone, not the whole
    -- team's period filtered row by row: a year of one agent's cases is some 10,000 index entries
    -- rather than 300,000.
    create index case_report_facts_responsible_created on case_report_facts (responsible_id, created_at)
      include (customer_id, case_type_id, priority_id, source, first_response_hours, sla_policy_id, sla_breached,
        first_response_business_hours);
    create index case_report_facts_responsible_closed on case_report_facts (responsible_id, closed_at)
      include (customer_id, case_type_id, priority_id, resolution_hours, resolution_business_hours)
      where closed_at is not null;

    create table case_report_times (
      metric text not null check (metric in
        ('first_response', 'first_response_business', 'sla', 'channel', 'resolution', 'resolution_business', 'closed_by')),
      -- the first instant of a UTC month
      month timestamptz not null,
      value integer,
      label text,
      slot integer not null,
      n integer not null,
      constraint case_report_times_key unique nulls not distinct (metric, month, value, label, slot)
    );

    create function case_report_facts_times() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        -- an upsert of the facts fires this with no row inserted whenever a case is written
        -- (activity, search vector): those leave here
        if not exists (select from new_rows) then
          return null;
        end if;
        ${addDeltas(contributions('new_rows', '1'), 'pg_backend_pid()')};
      elsif tg_op = 'UPDATE' then
        -- most fact updates (a type, a priority, a customer) leave the counts alone: they stop here
        if not exists (
          select from old_rows o join new_rows n on n.case_id = o.case_id
          where (o.${counted.split(', ').join(', o.')}) is distinct from (n.${counted.split(', ').join(', n.')})
        ) then
          return null;
        end if;
        ${addDeltas(`${contributions('old_rows', '-1')} union all ${contributions('new_rows', '1')}`, 'pg_backend_pid()')};
      else
        ${addDeltas(contributions('old_rows', '-1'), 'pg_backend_pid()')};
      end if;
      return null;
    end $$;
    comment on function case_report_facts_times() is
      'Keeps case_report_times (the reports'' monthly counts, src/reports/queries.ts) equal to case_report_facts in the same transaction.';
    create trigger case_report_facts_times_insert after insert on case_report_facts
      referencing new table as new_rows for each statement execute function case_report_facts_times();
    create trigger case_report_facts_times_update after update on case_report_facts
      referencing old table as old_rows new table as new_rows for each statement execute function case_report_facts_times();
    create trigger case_report_facts_times_delete after delete on case_report_facts
      referencing old table as old_rows for each statement execute function case_report_facts_times();
    -- TRUNCATE fires no delete trigger: the counts go with the facts.
    create function case_report_facts_truncate_times() returns trigger language plpgsql as $$
    begin
      delete from case_report_times;
      return null;
    end $$;
    create trigger case_report_facts_truncate_times after truncate on case_report_facts
      for each statement execute function case_report_facts_truncate_times();

    -- Adds the backends' rows into slot 0 and drops counts that came to zero; rows a running
    -- transaction holds are skipped and folded next time (see case_tile_counts_fold).
    create function case_report_times_fold() returns integer language plpgsql as $$
    declare
      folded integer;
    begin
      with taken as (
        select ctid from case_report_times where slot <> 0 for update skip locked
      ), moved as (
        delete from case_report_times t using taken where t.ctid = taken.ctid
        returning t.metric, t.month, t.value, t.label, t.n
      ), sums as (
        select metric, month, value, label, sum(n)::integer as n, count(*) as rows
        from moved group by metric, month, value, label
      ), added as (
        insert into case_report_times (metric, month, value, label, slot, n)
        select metric, month, value, label, 0, n from sums
        order by metric, month, value, label
        on conflict (metric, month, value, label, slot) do update set n = case_report_times.n + excluded.n
      )
      select coalesce(sum(rows), 0) into folded from sums;
      delete from case_report_times where slot = 0 and n = 0;
      return folded;
    end $$;

    -- Counts every fact afresh, for writers that bypass triggers (the rebuild of the facts below
    -- empties them with TRUNCATE and refills them, which counts them again by itself).
    create function case_report_times_rebuild() returns void language plpgsql as $$
    begin
      lock table case_report_facts in share mode;
      lock table case_report_times in exclusive mode;
      delete from case_report_times;
      ${addDeltas(contributions('case_report_facts', '1'), '0')};
    end $$;

    -- The facts' rebuild (migrations 20261205_0500, 0600) now empties them with TRUNCATE: a DELETE
    -- of every fact would take every count back out one by one, only to add them again.
    create or replace function case_report_facts_rebuild() returns void language plpgsql as $$
    begin
      lock table cases in share mode;
      lock table thread_entries in share mode;
      lock table case_events in share mode;
      truncate case_report_facts;
      insert into case_report_facts
        (case_id, customer_id, case_type_id, priority_id, responsible_id, source, created_at, closed_at,
         first_response_at, sla_policy_id, sla_breached, first_response_business_hours, resolution_business_hours)
      select c.id, c.customer_id, c.case_type_id, c.priority_id, c.responsible_id, c.source, c.created_at, c.closed_at,
        r.at, c.sla_policy_id, exists (select from case_events e where e.case_id = c.id and e.kind = 'sla_breached'),
        (c.sla_clock->>'firstResponseMinutes')::real / 60,
        case when c.closed_at is not null then (c.sla_clock->'resolution'->>'used')::real / 60 end
      from cases c
      left join (
        select case_id, min(created_at) as at from thread_entries
        where side = 'staff' and delivery <> 'saved' group by case_id
      ) r on r.case_id = c.id;
    end $$;

    select case_report_times_rebuild();
  `)
    .execute(db);
}
