import { sql } from 'kysely';
import { recordCaseEvents } from '../cases/case-events.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { SystemMailParam } from '../mail/outbound/outbox.ts';
import { type NewNotification, notifyUsers } from '../notifications/notifications.ts';
import type { SlaTarget } from './types.ts';

// Escalation (issue 17): when a running deadline passes its warning point (the policy's
// warn_percent) and when it passes, the case's responsible person and the policy's escalation
// user each get one bell notification and one e-mail, and a breach adds a line to the history.
// The cases domain owns the history (recordCaseEvents), the notifications domain the bells and
// mails; this module decides and orchestrates. Nothing in cases/ imports it, so no cycle.

export type EscalationTotals = { warnings: number; breaches: number; notified: number; mailed: number };

type Alert = {
  case_id: number;
  target: SlaTarget;
  due_at: Date;
  level: 'warning' | 'breached';
  number: string;
  title: string;
  responsible_id: number | null;
  escalation_user_id: number | null;
};

// The deadlines past their warning point or breached as of `now` that nobody has been told of yet,
// claimed in sla_alerts in one statement. Candidates come from the index on cases.sla_warn_at (the
// earliest running deadline's warning point); each running timer of their clock (response,
// resolution; a paused one has no dueAt) is then judged by its own warnAt and dueAt. A deadline
// first seen after it passed gets only 'breached'.
//
// A deadline is known by its target, level and the moment it was first owed (the timer's owedSince,
// unique index sla_alerts_cycle): recomputed to another instant (a saved calendar or policy, a close
// and reopen, a pause) it is the same deadline and is not announced again; a new customer message
// owes a new response and is.
//
// Exactly once: the unique keys with on conflict do nothing, and only the rows this statement
// inserted come back. A second instance running at the same moment
// waits on the first's uncommitted keys and then inserts none of them, so it notifies nobody; the
// not exists only spares the speculative inserts of what earlier runs already announced.
function claimAlertsSql(now: Date, slice: Slice) {
  return sql<Alert>`
    with due as (
      select c.id as case_id, t.timer ->> 'target' as target, (t.timer ->> 'dueAt')::timestamptz as due_at,
             (t.timer ->> 'owedSince')::timestamptz as owed_since,
             case when (t.timer ->> 'dueAt')::timestamptz <= ${now} then 'breached' else 'warning' end as level
        from cases c
        cross join lateral (values (c.sla_clock -> 'response'), (c.sla_clock -> 'resolution')) as t (timer)
       where c.sla_warn_at <= ${now}
         and c.id % ${slice.of}::integer = ${slice.index}::integer
         and t.timer ->> 'dueAt' is not null
         and (t.timer ->> 'warnAt')::timestamptz <= ${now}
    ), claimed as (
      insert into sla_alerts (case_id, target, due_at, owed_since, level)
      select d.case_id, d.target, d.due_at, d.owed_since, d.level from due d
       where not exists (
         select 1 from sla_alerts a
          where a.case_id = d.case_id and a.target = d.target and a.level = d.level
            and (a.owed_since = d.owed_since or a.due_at = d.due_at))
      on conflict do nothing
      returning case_id, target, due_at, level
    )
    select claimed.case_id, claimed.target, claimed.due_at, claimed.level, c.number, c.title, c.responsible_id,
           p.escalation_user_id
      from claimed
      join cases c on c.id = claimed.case_id
      left join sla_policies p on p.id = c.sla_policy_id
     order by claimed.case_id, claimed.due_at`;
}

// The cases are split by id into slices, each claimed and notified in a transaction of its own, on
// a connection of its own, at the same time: PostgreSQL runs one statement on one core, and most
// of a run is its inserts (100,000 deadlines at once: 9.5 s in one transaction on 2 cores).
type Slice = { index: number; of: number };
export const escalationSlices = 2;

// One run: per slice, claims, writes the breaches' history lines and notifies, in one transaction,
// so an announced deadline always has its bells, mails and history, and a failed slice announces
// nothing (the next run announces it).
export async function runSlaEscalation(
  db: Db,
  config: Config | undefined,
  now = new Date(),
): Promise<EscalationTotals> {
  // inside a caller's transaction there is one connection: one slice
  const of = db.isTransaction ? 1 : escalationSlices;
  const totals = await Promise.all(Array.from({ length: of }, (_, index) => runSlice(db, config, now, { index, of })));
  return totals.reduce((sum, t) => ({
    warnings: sum.warnings + t.warnings,
    breaches: sum.breaches + t.breaches,
    notified: sum.notified + t.notified,
    mailed: sum.mailed + t.mailed,
  }));
}

async function runSlice(db: Db, config: Config | undefined, now: Date, slice: Slice): Promise<EscalationTotals> {
  return db.transaction().execute(async (trx) => {
    const { rows: alerts } = await claimAlertsSql(now, slice).execute(trx);
    const breaches = alerts.filter((a) => a.level === 'breached');
    // in slices: recordCaseEvents is one values list, 6 parameters a row
    for (let i = 0; i < breaches.length; i += 5000) {
      await recordCaseEvents(
        trx,
        breaches.slice(i, i + 5000).map((a) => ({ caseId: a.case_id, kind: 'sla_breached', new_value: a.target })),
        null,
      );
    }
    const notifications: (NewNotification & {
      params: Record<string, SystemMailParam>;
      kase: { number: string; title: string };
    })[] = [];
    for (const a of alerts) {
      // the due time is written in each recipient's language when the mail goes
      const params = { target: { key: `sla.target.${a.target}` }, due: { dateTime: new Date(a.due_at).toISOString() } };
      // the responsible person and the escalation user, once when they are the same person
      for (const userId of new Set([a.responsible_id, a.escalation_user_id])) {
        if (userId === null) continue;
        notifications.push({
          userId,
          actorId: null,
          kind: a.level === 'breached' ? 'sla_breached' : 'sla_warning',
          caseId: a.case_id,
          summary: `${a.number} ${a.title}`,
          link: `/cases/${a.number}`,
          slaTarget: a.target,
          params,
          kase: { number: a.number, title: a.title },
        });
      }
    }
    const sent = await notifyUsers(trx, notifications, { config });
    return { warnings: alerts.length - breaches.length, breaches: breaches.length, ...sent };
  });
}

// A database loaded with its history (the synthetic seed): the deadlines already passed were told
// of back when they passed, so they are claimed as announced, with no bells, mails or history
// lines. Otherwise the first run after a seed tells every agent of every old breach at once.
export async function claimPassedDeadlinesQuietly(db: Db, now = new Date()): Promise<number> {
  const { rows } = await claimAlertsSql(now, { index: 0, of: 1 }).execute(db);
  return rows.length;
}

// The schedule's log line: only when someone was told something.
export function describeEscalation(t: EscalationTotals): string | undefined {
  if (!t.notified) return undefined;
  return `${t.warnings} deadlines at risk, ${t.breaches} breached: ${t.notified} notifications, ${t.mailed} e-mails`;
}
