import type { Db } from '../db/database.ts';
import { addBusinessMinutes } from './calendar.ts';
import { type SlaLevel, slaStateAt } from './clock.ts';
import { swedishHolidayDates } from './holidays.ts';
import { findSlaPoliciesById } from './queries.ts';
import type { BusinessCalendar, SlaClock, SlaTarget } from './types.ts';

// What a case's service-level badge says: its most pressing target, in business time.
export type SlaBadge = {
  target: SlaTarget;
  level: SlaLevel;
  // business minutes left; negative: breached by that many
  minutes: number;
  // the wall-clock deadline (null while paused)
  dueAt: string | null;
  paused: boolean;
  // whole days to the deadline or since it, when the badge counts in days (badgeDays); else null
  days: number | null;
};

const DAY = 86_400_000;
// From here on a badge counts in days: under it "2 h 10 min", from it "3 d".
const DAY_MINUTES = 24 * 60;

/**
 * The whole days a badge shows for `minutes` business minutes left (negative: overspent), or null
 * under 24 hours of business time, which the badge shows in hours and minutes. The days are
 * wall-clock days to the deadline (since it, when breached), rounded down: business minutes / 1440
 * would call 300 business hours "12 d" in an 8-hour calendar, when the deadline is six weeks away.
 * A paused target has no deadline: its minutes are laid out in the calendar back from (forward
 * from) now, the wall-clock time they take. Business time never runs faster than the wall clock,
 * so from 24 business hours on this is at least 1.
 */
export function badgeDays(minutes: number, dueAt: string | null, now: Date, calendar: BusinessCalendar): number | null {
  if (Math.abs(minutes) < DAY_MINUTES) return null;
  let wall: number;
  if (dueAt !== null) wall = Math.abs(Date.parse(dueAt) - now.getTime());
  else {
    try {
      wall = Math.abs(addBusinessMinutes(calendar, now, minutes).getTime() - now.getTime());
    } catch {
      // a calendar that no longer opens: the minutes as if it were always open
      wall = Math.abs(minutes) * 60_000;
    }
  }
  return Math.max(1, Math.floor(wall / DAY));
}

type Clocked = { sla_policy_id: number | null; sla_clock: SlaClock | null };

// The whole minutes a badge shows, away from zero: 20 s left is "due in 1 min", not "due in 0 min",
// and 20 s past the deadline "breached by 1 min".
export const badgeMinutes = (left: number): number => (left === 0 ? 0 : Math.sign(left) * Math.ceil(Math.abs(left)));

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
    const minutes = badgeMinutes(top.businessMinutesLeft);
    // a paused badge that is not breached shows no time
    const showsTime = top.level === 'breached' || !top.paused;
    return {
      target: top.target,
      level: top.level,
      minutes,
      dueAt: top.dueAt,
      paused: top.paused,
      days: showsTime ? badgeDays(minutes, top.dueAt, now, policy.calendar) : null,
    };
  });
}
