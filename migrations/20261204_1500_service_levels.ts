import { type Kysely, sql } from 'kysely';

// Service levels, the administration side (issue 17): business calendars and the ordered SLA
// policies that pick one for a case. The case lifecycle reads them through findSlaPolicy
// (src/service-levels/queries.ts) on every case event, from an in-process cache that the change
// triggers below keep exact on every instance.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table business_calendars (
      id serial primary key,
      name text not null unique check (name <> ''),
      -- IANA zone; the opening hours are wall-clock times there
      time_zone text not null default 'Europe/Stockholm',
      -- Monday first, 7 days, each a list of [open, close) minutes after local midnight, sorted
      -- and apart (BusinessCalendar.week in src/service-levels/types.ts); policies.ts checks the
      -- spans, the check here only keeps the shape the clock can index by weekday
      week jsonb not null check (jsonb_typeof(week) = 'array' and jsonb_array_length(week) = 7),
      swedish_holidays boolean not null default true,
      -- julafton, nyårsafton and midsommarafton, which most Swedish firms close
      closed_eves boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    -- days a calendar is closed on top of the public holidays (a staff party, a move)
    create table business_calendar_closed_days (
      id serial primary key,
      calendar_id integer not null references business_calendars (id) on delete cascade,
      date date not null,
      note text not null default '',
      unique (calendar_id, date)
    );

    create table sla_policies (
      id serial primary key,
      name text not null unique check (name <> ''),
      -- the order they are tried in: the first active policy whose conditions match wins.
      -- Deferred, so that moving a policy can swap two positions within one transaction.
      position integer not null,
      constraint sla_policies_position_key unique (position) deferrable initially deferred,
      active boolean not null default true,
      -- no cascade: a calendar in use cannot be deleted (the page says which policies use it)
      calendar_id integer not null references business_calendars (id),
      -- conditions, null: any. Customers, priorities and case types are deactivated, never
      -- deleted, so these need no delete rule.
      customer_id integer references customers (id),
      priority_id integer references priorities (id),
      case_type_id integer references case_types (id),
      -- targets in business minutes of the calendar; null: none
      first_response_minutes integer check (first_response_minutes > 0),
      next_response_minutes integer check (next_response_minutes > 0),
      resolution_minutes integer check (resolution_minutes > 0),
      pause_while_waiting boolean not null default true,
      warn_percent integer not null default 75 check (warn_percent between 1 and 99),
      escalation_user_id integer references users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
  `.execute(db);
  // The in-process cache of policies and calendars (src/db/cached.ts) hears of every change here,
  // from any instance, through the trigger function of migration 20261204_0500_change_notify.
  for (const table of ['business_calendars', 'business_calendar_closed_days', 'sla_policies']) {
    await sql`
      create trigger ${sql.raw(`${table}_notify_change`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function casedesk_notify_change()
    `.execute(db);
  }
}
