import { type Kysely, sql } from 'kysely';

// The service-level clock on each case (issue 17; src/service-levels/clock.ts decides, the case
// lifecycle writes). The policy's deadlines are stored rather than worked out per row, so the
// overview's badges, the "SLA at risk" tile and the escalation job cost no business-time sums.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- the policy the clock runs by (the first that matched the case); null: none matched
    alter table cases add column sla_policy_id integer references sla_policies (id) on delete set null;
    -- the clock's whole state (SlaClock in src/service-levels/types.ts); replaying the case's
    -- case_clock_events with its policy gives exactly this value
    alter table cases add column sla_clock jsonb;
    -- the earliest running deadline and its warning point, copied out of sla_clock for the indexes
    alter table cases add column sla_due_at timestamptz;
    alter table cases add column sla_warn_at timestamptz;
    -- serves the filter "SLA breached" and the sort by next deadline
    create index cases_sla_due on cases (sla_due_at) where sla_due_at is not null;
    -- serves the tile "SLA at risk" and the escalation job: deadlines past their warning point
    create index cases_sla_warn on cases (sla_warn_at) where sla_warn_at is not null;

    -- What the clock heard, in order: the lifecycle appends here as it applies each event, so a
    -- change of policy (priority, customer, case type) replays the case's history with the new one.
    create table case_clock_events (
      id bigserial primary key,
      case_id integer not null references cases (id) on delete cascade,
      type text not null check (type in (
        'opened', 'customer_message', 'staff_reply', 'reply_taken_back', 'waiting', 'resumed',
        'closed', 'reopened')),
      at timestamptz not null
    );
    -- serves the replay: one case's events in order
    create index case_clock_events_case on case_clock_events (case_id, id);

    -- the history's line for a deadline that passed (written by the escalation job)
    alter table case_events drop constraint case_events_kind;
    alter table case_events add constraint case_events_kind check (kind in (
      'created', 'field_changed', 'reopened', 'kontroll_reminder', 'kontroll_closed', 'merged',
      'reply_added', 'email_queued', 'email_sent', 'email_recalled', 'mail_received',
      'auto_reply_received', 'mail_bounced', 'follow_up_created', 'follows_case', 'document_added',
      'document_version_added', 'document_deleted', 'discussion_post', 'discussion_post_deleted',
      'internal_note_saved', 'work_order_created', 'triage_cleared', 'sla_breached')) not valid;
  `.execute(db);
  // validated apart: the check scans every history row, under a lock that lets writers go on
  await sql`alter table case_events validate constraint case_events_kind`.execute(db);
}
