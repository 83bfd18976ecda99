import { type Kysely, sql } from 'kysely';

// The reports' response and resolution times in business hours (issue 20), for the cases that run
// by a service level: their SLA clock (cases.sla_clock, src/service-levels/clock.ts) has already
// spent the business calendar on them. The first response's business minutes are recorded when it
// is met (firstResponseMinutes); the resolution timer, paused at the close, holds all it used.
// Waiting for the customer is not counted where the policy pauses then, as for the deadlines.
// A case without a service level has no business-hour times; the calendar-hour ones stay beside.
const businessHours = (row: string) => `
  (${row}.sla_clock->>'firstResponseMinutes')::real / 60,
  case when ${row}.closed_at is not null then (${row}.sla_clock->'resolution'->>'used')::real / 60 end`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(`
    alter table case_report_facts add column first_response_business_hours real;
    alter table case_report_facts add column resolution_business_hours real;

    -- the covering indexes carry the new times too, so the period's percentiles stay index-only
    drop index case_report_facts_created;
    create index case_report_facts_created on case_report_facts (created_at)
      include (customer_id, case_type_id, priority_id, responsible_id, source, first_response_hours,
        sla_policy_id, sla_breached, first_response_business_hours);
    drop index case_report_facts_closed;
    create index case_report_facts_closed on case_report_facts (closed_at)
      include (customer_id, case_type_id, priority_id, responsible_id, resolution_hours, resolution_business_hours)
      where closed_at is not null;

    create or replace function cases_report_facts() returns trigger language plpgsql as $$
    begin
      insert into case_report_facts
        (case_id, customer_id, case_type_id, priority_id, responsible_id, source, created_at, closed_at, sla_policy_id,
         first_response_business_hours, resolution_business_hours)
      select id, customer_id, case_type_id, priority_id, responsible_id, source, created_at, closed_at, sla_policy_id,
        ${businessHours('new_rows')}
      from new_rows
      order by id
      on conflict (case_id) do update set
        customer_id = excluded.customer_id, case_type_id = excluded.case_type_id,
        priority_id = excluded.priority_id, responsible_id = excluded.responsible_id, source = excluded.source,
        created_at = excluded.created_at, closed_at = excluded.closed_at, sla_policy_id = excluded.sla_policy_id,
        first_response_business_hours = excluded.first_response_business_hours,
        resolution_business_hours = excluded.resolution_business_hours
      where (case_report_facts.customer_id, case_report_facts.case_type_id, case_report_facts.priority_id,
          case_report_facts.responsible_id, case_report_facts.source, case_report_facts.created_at,
          case_report_facts.closed_at, case_report_facts.sla_policy_id,
          case_report_facts.first_response_business_hours, case_report_facts.resolution_business_hours)
        is distinct from (excluded.customer_id, excluded.case_type_id, excluded.priority_id,
          excluded.responsible_id, excluded.source, excluded.created_at, excluded.closed_at, excluded.sla_policy_id,
          excluded.first_response_business_hours, excluded.resolution_business_hours);
      return null;
    end $$;

    create or replace function case_report_facts_rebuild() returns void language plpgsql as $$
    begin
      lock table cases in share mode;
      lock table thread_entries in share mode;
      lock table case_events in share mode;
      delete from case_report_facts;
      insert into case_report_facts
        (case_id, customer_id, case_type_id, priority_id, responsible_id, source, created_at, closed_at,
         first_response_at, sla_policy_id, sla_breached, first_response_business_hours, resolution_business_hours)
      select c.id, c.customer_id, c.case_type_id, c.priority_id, c.responsible_id, c.source, c.created_at, c.closed_at,
        r.at, c.sla_policy_id, exists (select from case_events e where e.case_id = c.id and e.kind = 'sla_breached'),
        ${businessHours('c')}
      from cases c
      left join (
        select case_id, min(created_at) as at from thread_entries
        where side = 'staff' and delivery <> 'saved' group by case_id
      ) r on r.case_id = c.id;
    end $$;

    -- the cases that already run by a service level
    update case_report_facts f set
      first_response_business_hours = (c.sla_clock->>'firstResponseMinutes')::real / 60,
      resolution_business_hours =
        case when c.closed_at is not null then (c.sla_clock->'resolution'->>'used')::real / 60 end
    from cases c
    where c.id = f.case_id and c.sla_clock is not null;
  `)
    .execute(db);
}
