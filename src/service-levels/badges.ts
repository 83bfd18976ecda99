import type { Db } from '../db/database.ts';
import { type SlaLevel, slaStateAt } from './clock.ts';
import { swedishHolidayDates } from './holidays.ts';
import { findSlaPoliciesById } from './queries.ts';
import type { SlaClock, SlaTarget } from './types.ts';

// What a case's service-level badge says: its most pressing target, in business time.
export type SlaBadge = {
  target: SlaTarget;
  level: SlaLevel;
  // business minutes left; negative: breached by that many
  minutes: number;
  // the wall-clock deadline (null while paused)
  dueAt: string | null;
  paused: boolean;
};

type Clocked = { sla_policy_id: number | null; sla_clock: SlaClock | null };

const levelRank: Record<SlaLevel, number> = { breached: 0, warning: 1, ok: 2 };

// The badge of each row (null: no clock runs), at `now`. The deadlines are stored on the case; only
// the minutes left are worked out here, in the policy's calendar (kept in this process).
export async function slaBadgesOf(db: Db, rows: readonly Clocked[], now = new Date()): Promise<(SlaBadge | null)[]> {
  const ids = [...new Set(rows.map((r) => (r.sla_clock ? r.sla_policy_id : null)).filter((id) => id !== null))];
  if (!ids.length) return rows.map(() => null);
  const policies = await findSlaPoliciesById(db, ids, swedishHolidayDates, now);
  return rows.map((row) => {
    const policy = row.sla_policy_id === null ? undefined : policies.get(row.sla_policy_id);
    // a closed case's timers stand still until it reopens: no badge, as on its overview row
    if (!row.sla_clock || row.sla_clock.closed || !policy) return null;
    const states = slaStateAt(row.sla_clock, now, policy.calendar, policy.targets);
    // the worst level first; among equals, running before paused, then the least time left
    states.sort(
      (a, b) =>
        levelRank[a.level] - levelRank[b.level] ||
        Number(a.paused) - Number(b.paused) ||
        a.businessMinutesLeft - b.businessMinutesLeft,
    );
    const top = states[0];
    if (!top) return null;
    return {
      target: top.target,
      level: top.level,
      minutes: Math.round(top.businessMinutesLeft),
      dueAt: top.dueAt,
      paused: top.paused,
    };
  });
}
