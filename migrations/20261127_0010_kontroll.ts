import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Kontroll (K1): reminders to customers who went quiet and closing of cases they never answered.
    -- Both are off until an administrator turns them on, so an upgrade never starts mailing customers.
    alter table case_settings
      add column kontroll_remind_enabled boolean not null default false,
      add column kontroll_remind_days integer not null default 7 check (kontroll_remind_days between 1 and 365),
      add column kontroll_remind_subject_sv text not null default 'Påminnelse: {title}',
      add column kontroll_remind_text_sv text not null default
        E'Hej {contact_name}!\n\nVi väntar fortfarande på svar från dig i ärende {case_number} ({title}). Det har nu gått {days} dagar. Svara gärna på det här mejlet så hjälper vi dig vidare.\n\nVänliga hälsningar\n{responsible_name}',
      add column kontroll_remind_subject_en text not null default 'Reminder: {title}',
      add column kontroll_remind_text_en text not null default
        E'Hello {contact_name},\n\nWe are still waiting for your answer in case {case_number} ({title}). It has now been {days} days. Please reply to this e-mail and we will help you further.\n\nKind regards\n{responsible_name}',
      add column kontroll_close_enabled boolean not null default false,
      add column kontroll_close_days integer not null default 14 check (kontroll_close_days between 1 and 365),
      add column kontroll_close_subject_sv text not null default 'Ärendet är avslutat: {title}',
      add column kontroll_close_text_sv text not null default
        E'Hej {contact_name}!\n\nEftersom vi inte har hört av dig på {days} dagar avslutar vi nu ärende {case_number} ({title}). Svara på det här mejlet om du fortfarande behöver hjälp.\n\nVänliga hälsningar\n{responsible_name}',
      add column kontroll_close_subject_en text not null default 'Case closed: {title}',
      add column kontroll_close_text_en text not null default
        E'Hello {contact_name},\n\nAs we have not heard from you for {days} days, we are now closing case {case_number} ({title}). Reply to this e-mail if you still need help.\n\nKind regards\n{responsible_name}',
      add column kontroll_close_status_id integer references case_statuses (id),
      -- null: every case type, including types added later
      add column kontroll_case_type_ids integer[],
      -- local time (config.timeZone) of the daily scheduled run
      add column kontroll_run_at text not null default '07:00' check (kontroll_run_at ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$');
    update case_settings set kontroll_close_status_id =
      (select id from case_statuses where kind = 'closed' order by position, id limit 1);

    -- When the current waiting period began: the status became "waiting" or, while waiting, the
    -- latest reply went to the customer. Null when the case is not waiting. Kept by triggers so
    -- every writer (header, quick edit, inbound mail, scripts) moves the clock alike. Milliseconds,
    -- so the value survives a round trip through a JavaScript Date and still equals itself.
    alter table cases add column waiting_since timestamptz(3);
    update cases c set waiting_since = coalesce(
      (select max(t.created_at) from thread_entries t where t.case_id = c.id and t.side = 'staff' and t.delivery = 'to_send'),
      c.updated_at)
    where c.status_kind = 'waiting';

    -- Named to sort after cases_status_kind: before-triggers fire by name, and this one reads status_kind.
    create function cases_track_waiting_since() returns trigger language plpgsql as $$
    begin
      if new.status_kind <> 'waiting' then
        new.waiting_since := null;
      elsif tg_op = 'INSERT' then
        new.waiting_since := coalesce(new.waiting_since, now());
      elsif old.status_kind <> 'waiting' and new.waiting_since is not distinct from old.waiting_since then
        -- a new period starts, unless the writer set its start explicitly (imports, benchmarks)
        new.waiting_since := now();
      end if;
      return new;
    end $$;
    create trigger cases_waiting_since before insert or update of status_id on cases
      for each row execute function cases_track_waiting_since();

    -- A reply that goes to the customer while the case waits restarts the clock.
    create function thread_entries_restart_waiting() returns trigger language plpgsql as $$
    begin
      update cases set waiting_since = now() where id = new.case_id and status_kind = 'waiting';
      return null;
    end $$;
    create trigger thread_entries_restart_waiting after insert or update of delivery on thread_entries
      for each row when (new.side = 'staff' and new.delivery = 'to_send')
      execute function thread_entries_restart_waiting();

    -- serves Kontroll's candidates: waiting cases whose period began before a limit
    create index cases_waiting_since on cases (waiting_since) where status_kind = 'waiting';

    -- Every Kontroll run, scheduled or on demand: what it did, for the summary page and for
    -- "has today's scheduled run happened" across instances.
    create table kontroll_runs (
      id bigserial primary key,
      source text not null check (source in ('schedule', 'manual')),
      user_id integer references users (id),
      -- the clock the run decided by (tests move it forward)
      as_of timestamptz not null,
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      reminded integer not null default 0,
      closed integer not null default 0,
      -- left alone at the re-check: answered, changed or handled by someone else meanwhile
      skipped integer not null default 0,
      failed integer not null default 0,
      error text
    );
    -- serves "did the scheduled run happen today"
    create index kontroll_runs_source_as_of on kontroll_runs (source, as_of desc);

    -- One reminder and one closing per case and waiting period; the unique key is what makes a
    -- second run (or a second instance) a no-op even if it got past the advisory lock.
    create table kontroll_actions (
      id bigserial primary key,
      case_id integer not null references cases (id) on delete cascade,
      waiting_since timestamptz(3) not null,
      action text not null check (action in ('remind', 'close')),
      run_id bigint references kontroll_runs (id) on delete set null,
      thread_entry_id bigint references thread_entries (id) on delete set null,
      created_at timestamptz not null default now(),
      unique (case_id, waiting_since, action)
    );
    -- serves the summary of one run
    create index kontroll_actions_run on kontroll_actions (run_id, action, id);
  `.execute(db);
}
