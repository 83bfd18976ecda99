import { type Kysely, sql } from 'kysely';

// The overview's service-level views at 1,000,000 cases (issue 17; EXPLAIN ANALYZE on the synthetic
// seed, ~30,000 unfinished cases). Without these, "sort by next deadline" read every unfinished
// case (or every one of the agent's) and sorted them for one page: 250 ms for everyone's, growing
// with the open cases. The overview filters on status_kind <> 'closed' and sorts
// sla_due_at asc nulls last, id desc, so the indexes carry that predicate and that order (cases
// without a running deadline last, as nulls); cases_sla_due, partial on a deadline being set, cannot
// serve an order that includes the rows without one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- "sort by next deadline", over everyone's unfinished cases
    create index cases_unfinished_sla on cases (sla_due_at, id desc) where status_kind <> 'closed';
    -- the same for one agent's (the default "mine")
    create index cases_unfinished_sla_resp on cases (responsible_id, sla_due_at, id desc)
      where status_kind <> 'closed';
    -- "SLA at risk" and "SLA breached" in the overview's default (urgency) order: walked in that
    -- order, stopping after a page, instead of sorting every case past its warning point (1.2 s
    -- for 19,000 of them on a busy machine, 0.4 ms walked). The predicate names status_kind too:
    -- the planner, not knowing that only unfinished cases have a deadline, multiplied the two
    -- selectivities, expected a few hundred rows and chose the sort.
    create index cases_sla_warn_rank on cases (priority_rank, last_activity_at desc, id desc)
      include (sla_warn_at, due_date, responsible_id) where status_kind <> 'closed' and sla_warn_at is not null;
    create index cases_sla_due_rank on cases (priority_rank, last_activity_at desc, id desc)
      include (sla_due_at, due_date, responsible_id) where status_kind <> 'closed' and sla_due_at is not null;
  `.execute(db);
}
