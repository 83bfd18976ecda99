import { type Kysely, sql } from 'kysely';

// An announced deadline is known by what was owed and since when (the timer's owedSince: the
// customer's message it answers, the case's opening for resolution), not by the instant it falls
// due: a saved calendar or policy, a close and a reopen, or a pause recompute the instant by seconds
// or hours, and each new instant announced the same breach again (nine bells in seventeen minutes
// for one case, found by the probe). A new customer message owes a new response: a new owed_since.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table sla_alerts add column owed_since timestamptz;
    -- the deadlines announced before: those still due when announced are matched to their timer;
    -- the rest keep no cycle and only their instant, as before
    update sla_alerts a set owed_since = (t.timer ->> 'owedSince')::timestamptz
      from cases c
      cross join lateral (values (c.sla_clock -> 'response'), (c.sla_clock -> 'resolution')) as t (timer)
     where c.id = a.case_id and t.timer ->> 'target' = a.target and (t.timer ->> 'dueAt')::timestamptz = a.due_at;
    create unique index sla_alerts_cycle on sla_alerts (case_id, target, owed_since, level);
  `.execute(db);
}
