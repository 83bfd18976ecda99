import { isDeepStrictEqual } from 'node:util';
import { type RawBuilder, sql } from 'kysely';
import { type Db, prepared } from '../db/database.ts';
import { advanceSla, nextDeadline, replaySla, startClock } from '../service-levels/clock.ts';
import { swedishHolidayDates } from '../service-levels/holidays.ts';
import { findSlaPolicy } from '../service-levels/queries.ts';
import type { SlaClock, SlaEvent, SlaTargets } from '../service-levels/types.ts';

// The service-level clock's side of the case lifecycle: which policy a case runs by, and what its
// clock says after the events the lifecycle just applied. The lifecycle (case-events.ts,
// createCaseRecord) writes the answer in the same statement as the status, so a case's deadlines
// are never apart from the state they follow.

// What the clock needs of a case, as the lifecycle has it locked.
export type ClockedCase = {
  id: number;
  customer_id: number | null;
  priority_id: number | null;
  case_type_id: number;
  sla_policy_id: number | null;
  sla_clock: SlaClock | null;
};

// The columns to write; null for a case the clock leaves as it is.
export type ClockColumns = {
  sla_policy_id: number | null;
  sla_clock: SlaClock | null;
  sla_due_at: Date | null;
  sla_warn_at: Date | null;
};

type Policy = NonNullable<Awaited<ReturnType<typeof findSlaPolicy>>>;

const policyOf = (db: Db, c: Omit<ClockedCase, 'id' | 'sla_policy_id' | 'sla_clock'>) =>
  findSlaPolicy(
    db,
    { customerId: c.customer_id, priorityId: c.priority_id, caseTypeId: c.case_type_id },
    swedishHolidayDates,
  );

// A stored clock still runs by the policy's current targets while each running or paused timer
// has the minutes the targets give it; an edited policy's cases replay from their next event.
function runsBy(clock: SlaClock, targets: SlaTargets): boolean {
  const minutesOf = {
    first_response: targets.firstResponseMinutes,
    next_response: targets.nextResponseMinutes,
    resolution: targets.resolutionMinutes,
  };
  return [clock.response, clock.resolution].every((t) => !t || t.minutes === minutesOf[t.target]);
}

// sla_warn_at is the earliest warning point of any running target, not only the next deadline's:
// a long resolution target can reach its warning point before a fresh response target reaches its
// own, and the escalation job finds its candidates by this column.
export function clockColumns(policyId: number | null, clock: SlaClock | null): ClockColumns {
  const next = clock ? nextDeadline(clock) : null;
  const warnings = clock
    ? [clock.response, clock.resolution].flatMap((t) => (t?.dueAt && t.warnAt ? [Date.parse(t.warnAt)] : []))
    : [];
  return {
    sla_policy_id: policyId,
    sla_clock: clock,
    sla_due_at: next ? new Date(next.dueAt) : null,
    sla_warn_at: warnings.length ? new Date(Math.min(...warnings)) : null,
  };
}

// A new case's clock: no history but its own first events.
export async function startingClock(
  db: Db,
  c: Omit<ClockedCase, 'id' | 'sla_policy_id' | 'sla_clock'>,
  events: SlaEvent[],
): Promise<ClockColumns> {
  const policy = await policyOf(db, c);
  if (!policy) return clockColumns(null, null);
  return clockColumns(policy.policyId, foldEvents(startClock(), events, policy));
}

const foldEvents = (clock: SlaClock, events: SlaEvent[], policy: Policy) =>
  events.reduce((c, e) => advanceSla(c, e, policy.targets, policy.calendar), clock);

// Each case's clock after `fresh` events (already in the order applied; not yet in
// case_clock_events). The policy is looked up again each time: when it is another than the one the
// clock ran by (the priority, customer or type changed, or an administrator reordered the
// policies), the case's whole history is replayed with the new one. Returns only the cases whose
// columns change.
export async function advanceCaseClocks(
  db: Db,
  cases: ClockedCase[],
  fresh: Map<number, SlaEvent[]>,
): Promise<Map<number, ClockColumns>> {
  const out = new Map<number, ClockColumns>();
  const replays: { c: ClockedCase; policy: Policy }[] = [];
  for (const c of cases) {
    const events = fresh.get(c.id) ?? [];
    const policy = await policyOf(db, c);
    if (!policy) {
      if (c.sla_policy_id !== null || c.sla_clock !== null) out.set(c.id, clockColumns(null, null));
      continue;
    }
    if (policy.policyId === c.sla_policy_id && c.sla_clock && runsBy(c.sla_clock, policy.targets)) {
      if (events.length) out.set(c.id, clockColumns(policy.policyId, foldEvents(c.sla_clock, events, policy)));
      continue;
    }
    replays.push({ c, policy });
  }
  if (replays.length) {
    const history = await clockHistoryOf(
      db,
      replays.map((r) => r.c.id),
    );
    for (const { c, policy } of replays) {
      const events = [...(history.get(c.id) ?? []), ...(fresh.get(c.id) ?? [])];
      out.set(c.id, clockColumns(policy.policyId, replaySla(events, policy.targets, policy.calendar)));
    }
  }
  return out;
}

// The clock events a set of cases heard, in order.
export async function clockHistoryOf(db: Db, caseIds: number[]): Promise<Map<number, SlaEvent[]>> {
  const rows = caseIds.length
    ? await db
        .selectFrom('case_clock_events')
        .select(['case_id', 'type', 'at'])
        .where('case_id', 'in', caseIds)
        .orderBy('case_id')
        .orderBy('id')
        .execute()
    : [];
  const byCase = new Map<number, SlaEvent[]>();
  for (const row of rows) {
    const list = byCase.get(row.case_id) ?? [];
    list.push({ type: row.type, at: new Date(row.at).toISOString() });
    byCase.set(row.case_id, list);
  }
  return byCase;
}

// Appends what the clock heard, in the order heard.
export async function recordClockEvents(db: Db, events: { caseId: number; event: SlaEvent }[]): Promise<void> {
  if (!events.length) return;
  await sql`${prepared}${clockEventsInsert(events)}`.execute(db);
}

// The insert recordClockEvents runs, for a statement that writes the case in the same round trip
// (applyCaseEvent's update); no events insert no rows.
export function clockEventsInsert(events: { caseId: number; event: SlaEvent }[]): RawBuilder<unknown> {
  return sql`insert into case_clock_events (case_id, type, at)
    select v.case_id, v.type, v.at from unnest(
      ${events.map((e) => e.caseId)}::integer[],
      ${events.map((e) => e.event.type)}::text[],
      ${events.map((e) => e.event.at)}::timestamptz[]
    ) with ordinality as v(case_id, type, at, n) order by n`;
}

// A header edit changed what picks the policy (customer, priority, case type): the clock follows.
export async function reconsiderCaseClock(db: Db, caseId: number): Promise<void> {
  const c = await db
    .selectFrom('cases')
    .select(['id', 'customer_id', 'priority_id', 'case_type_id', 'sla_policy_id', 'sla_clock'])
    .where('id', '=', caseId)
    .executeTakeFirst();
  if (!c) return;
  const changed = (await advanceCaseClocks(db, [c], new Map())).get(caseId);
  if (changed) await writeClockColumns(db, caseId, changed);
}

export async function writeClockColumns(db: Db, caseId: number, columns: ClockColumns): Promise<void> {
  await db
    .updateTable('cases')
    .set({ ...columns, sla_clock: columns.sla_clock ? JSON.stringify(columns.sla_clock) : null })
    .where('id', '=', caseId)
    .execute();
}

// After an administrator changed the service levels (a calendar's hours or closed days, a policy's
// targets, conditions or order), every unfinished case's clock is replayed from its history with
// the policy that matches it now, so stored deadlines, badges, filters and escalation agree with
// the setup at once rather than from each case's next event. In batches of unfinished cases,
// locked in id order as applyCaseEvents locks them. Closed cases stand still; their next event
// (a reopen) runs on in the setup of that day. Returns how many cases' columns changed.
export async function replayUnfinishedCaseClocks(db: Db, opts: { batch?: number } = {}): Promise<number> {
  const size = opts.batch ?? 1000;
  let after = 0;
  let changed = 0;
  for (;;) {
    const seen = await db.transaction().execute(async (trx) => {
      const cases = await trx
        .selectFrom('cases')
        .select(['id', 'customer_id', 'priority_id', 'case_type_id', 'sla_policy_id', 'sla_clock'])
        .where('status_kind', '<>', 'closed')
        .where('id', '>', after)
        .orderBy('id')
        .limit(size)
        .forUpdate()
        .execute();
      const last = cases[cases.length - 1];
      if (!last) return 0;
      after = last.id;
      const history = await clockHistoryOf(
        trx,
        cases.map((c) => c.id),
      );
      const writes: { id: number; columns: ClockColumns }[] = [];
      for (const c of cases) {
        const policy = await policyOf(trx, c);
        const columns = policy
          ? clockColumns(policy.policyId, replaySla(history.get(c.id) ?? [], policy.targets, policy.calendar))
          : clockColumns(null, null);
        // compared as values: jsonb gives the stored clock back with its keys in its own order
        const same = columns.sla_policy_id === c.sla_policy_id && isDeepStrictEqual(columns.sla_clock, c.sla_clock);
        if (!same) writes.push({ id: c.id, columns });
      }
      if (writes.length) {
        await sql`
          update cases c set
            sla_policy_id = v.sla_policy_id, sla_clock = v.sla_clock, sla_due_at = v.sla_due_at, sla_warn_at = v.sla_warn_at
          from unnest(
            ${writes.map((w) => w.id)}::integer[],
            ${writes.map((w) => w.columns.sla_policy_id)}::integer[],
            ${writes.map((w) => (w.columns.sla_clock ? JSON.stringify(w.columns.sla_clock) : null))}::jsonb[],
            ${writes.map((w) => w.columns.sla_due_at)}::timestamptz[],
            ${writes.map((w) => w.columns.sla_warn_at)}::timestamptz[]
          ) as v(id, sla_policy_id, sla_clock, sla_due_at, sla_warn_at)
          where c.id = v.id`.execute(trx);
      }
      changed += writes.length;
      return cases.length;
    });
    if (seen < size) return changed;
  }
}
