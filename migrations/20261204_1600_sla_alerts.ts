import { type Kysely, sql } from 'kysely';

// Escalation (issue 17, src/service-levels/escalation.ts): which deadlines have been announced.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One row per announced deadline: a case's target (first_response, next_response, resolution)
    -- due at an instant, at a level. The job inserts with on conflict do nothing and notifies only
    -- for the rows it got back, so however many instances run it at once, the responsible person
    -- and the escalation user hear of each deadline once. A new deadline (a new customer message,
    -- a reopen, a pause that moved it) is another due_at and is announced again.
    create table sla_alerts (
      case_id integer not null references cases (id) on delete cascade,
      target text not null check (target in ('first_response', 'next_response', 'resolution')),
      due_at timestamptz not null,
      level text not null check (level in ('warning', 'breached')),
      created_at timestamptz not null default now(),
      primary key (case_id, target, due_at, level)
    );
  `.execute(db);
}
