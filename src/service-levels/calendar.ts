// Business-time arithmetic over a BusinessCalendar. Pure: imports only types, no I/O; the caches
// below only remember answers the same inputs always give.
//
// What "open" means, precisely. A day's span [a, b) (minutes after local midnight) is the stretch
// of real time from the first instant the calendar's wall clock reads a on that date to the first
// instant it reads b (b = 1440: the next local midnight). So:
// - a wall time that does not exist (Europe/Stockholm, last Sunday in March, 02:00–03:00) maps to
//   the instant the clock jumps (03:00 CEST): a span inside the gap is empty;
// - a wall time that exists twice (last Sunday in October, 02:00–03:00) maps to its first
//   occurrence (CEST), so the span [0, 1440) that day is 25 real hours and a 24/7 calendar is
//   exactly wall-clock (real-time) arithmetic;
// - isOpenAt, businessMinutesBetween and addBusinessMinutes all use these same instants, so they
//   agree with each other to the millisecond.
// Calendars are treated as immutable values: answers are cached per (closedDates, week, timeZone)
// objects, so a copy of a calendar ({ ...cal }) made per call still finds the cache.
import type { BusinessCalendar } from './types.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
// A target that still has time left after this many days without any open time never ends.
const MAX_CLOSED_DAYS = 400;
// How far a deadline may lie: a walk that gets this many days from its start stops there. A
// calendar open one minute a week with a 9,999-hour target (accepted by the form) would otherwise
// walk four million days, holding a web process and the cases it locked for many minutes.
export const MAX_DEADLINE_DAYS = 366 * 20;
// The caches grow with the days asked about; past this they start over rather than grow forever.
const MAX_CACHED_DAYS = 20_000;

// One local date in a zone: [start, end) in epoch ms; uniform when no offset change falls inside,
// so a wall time is simply start + minutes.
type DaySkeleton = { start: number; end: number; uniform: boolean };
type Zone = { fmt: Intl.DateTimeFormat; days: Map<number, DaySkeleton>; guessOffset: number };
// A day's open spans as epoch ms, flat: [start0, end0, start1, end1, ...].
type Spans = readonly number[];
type CalendarCache = { zone: Zone; days: Map<number, Spans> };

const zones = new Map<string, Zone>();
const calendars = new WeakMap<ReadonlySet<string>, WeakMap<BusinessCalendar['week'], Map<string, CalendarCache>>>();
const NO_SPANS: Spans = [];

function zoneOf(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (!zone) {
    // Building a DateTimeFormat costs far more than using one: one per zone, ever.
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zone = { fmt, days: new Map(), guessOffset: 0 };
    zone.guessOffset = offsetAt(zone, Date.now());
    zones.set(timeZone, zone);
  }
  return zone;
}

// The zone's UTC offset in ms at instant u (local wall time = u + offset).
function offsetAt(zone: Zone, u: number): number {
  const whole = u - (((u % 1000) + 1000) % 1000);
  const p: Record<string, number> = {};
  for (const part of zone.fmt.formatToParts(whole)) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const local = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return local - whole;
}

// The first instant at which the zone's wall clock reads `wall` (local time as if UTC, in ms) or
// later: the earlier of two occurrences, the jump's instant for a time that is skipped.
function firstInstantReading(zone: Zone, wall: number): number {
  const before = offsetAt(zone, wall - DAY);
  const after = offsetAt(zone, wall + DAY);
  let best = Number.POSITIVE_INFINITY;
  for (const o of before === after ? [before] : [before, after]) {
    const u = wall - o;
    if (offsetAt(zone, u) === o && u < best) best = u;
  }
  if (best !== Number.POSITIVE_INFINITY) return best;
  // In a gap: the reading jumps over `wall` at the change; find that instant.
  let lo = wall - Math.max(before, after) - 1; // reads before `wall`
  let hi = wall - Math.min(before, after); // reads `wall` or later
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid + offsetAt(zone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

function skeleton(zone: Zone, day: number): DaySkeleton {
  let sk = zone.days.get(day);
  if (!sk) {
    const start = firstInstantReading(zone, day * DAY);
    const end = firstInstantReading(zone, (day + 1) * DAY);
    const uniform = end - start === DAY && offsetAt(zone, start) === offsetAt(zone, end - 1);
    sk = { start, end, uniform };
    if (zone.days.size >= MAX_CACHED_DAYS) zone.days.clear();
    zone.days.set(day, sk);
  }
  return sk;
}

// The local date (days since 1970-01-01) that instant u falls on.
function dayOf(zone: Zone, u: number): number {
  let day = Math.floor((u + zone.guessOffset) / DAY);
  for (;;) {
    const sk = skeleton(zone, day);
    if (u < sk.start) day--;
    else if (u >= sk.end) day++;
    else return day;
  }
}

function cacheOf(cal: BusinessCalendar): CalendarCache {
  let byWeek = calendars.get(cal.closedDates);
  if (!byWeek) {
    byWeek = new WeakMap();
    calendars.set(cal.closedDates, byWeek);
  }
  let byZone = byWeek.get(cal.week);
  if (!byZone) {
    byZone = new Map();
    byWeek.set(cal.week, byZone);
  }
  let cache = byZone.get(cal.timeZone);
  if (!cache) {
    cache = { zone: zoneOf(cal.timeZone), days: new Map() };
    byZone.set(cal.timeZone, cache);
  }
  return cache;
}

function spansOf(cal: BusinessCalendar, cache: CalendarCache, day: number): Spans {
  let spans = cache.days.get(day);
  if (spans) return spans;
  // 1970-01-01 was a Thursday; the week is Monday first.
  const weekday = (((day + 3) % 7) + 7) % 7;
  const open = cal.week[weekday] ?? [];
  if (open.length === 0 || cal.closedDates.has(new Date(day * DAY).toISOString().slice(0, 10))) {
    spans = NO_SPANS;
  } else {
    const sk = skeleton(cache.zone, day);
    const at = (minute: number) =>
      minute <= 0
        ? sk.start
        : minute >= 1440
          ? sk.end
          : sk.uniform
            ? sk.start + minute * MINUTE
            : Math.min(sk.end, Math.max(sk.start, firstInstantReading(cache.zone, day * DAY + minute * MINUTE)));
    const flat: number[] = [];
    for (const [a, b] of open) {
      const s = at(a);
      const e = at(b);
      if (e > s) flat.push(s, e);
    }
    spans = flat;
  }
  if (cache.days.size >= MAX_CACHED_DAYS) cache.days.clear();
  cache.days.set(day, spans);
  return spans;
}

function neverOpens(): never {
  throw new Error('calendar never opens');
}

/**
 * The instant at which `minutes` business minutes (fractional allowed; rounded to the ms) have
 * passed after `from`: the earliest such instant, so a target that uses up a span exactly ends at
 * that span's close. 0 gives `from` when open, else the next opening. Negative minutes count back:
 * the latest instant x with businessMinutesBetween(x, from) = -minutes (a budget already overspent
 * gives a deadline in the past). Throws Error('calendar never opens') when time is still owed after
 * 400 days in a row without open time. A deadline further than MAX_DEADLINE_DAYS days away is the
 * start of that day (the walk stops there).
 */
export function addBusinessMinutes(cal: BusinessCalendar, from: Date, minutes: number): Date {
  const u = from.getTime();
  // NaN or Infinity would never be used up: the walk below would not end.
  if (!Number.isFinite(minutes) || !Number.isFinite(u))
    throw new RangeError(`cannot add ${minutes} minutes to ${from}`);
  const cache = cacheOf(cal);
  let left = Math.round(minutes * MINUTE);
  let day = dayOf(cache.zone, u);
  const last = day + MAX_DEADLINE_DAYS;
  const first = day - MAX_DEADLINE_DAYS;
  let closedDays = 0;
  if (left >= 0) {
    for (;;) {
      const spans = spansOf(cal, cache, day);
      for (let i = 0; i < spans.length; i += 2) {
        const e = spans[i + 1] as number;
        if (e <= u) continue;
        const s = Math.max(spans[i] as number, u);
        if (left <= e - s) return new Date(s + left);
        left -= e - s;
      }
      closedDays = spans.length === 0 ? closedDays + 1 : 0;
      if (closedDays > MAX_CLOSED_DAYS) neverOpens();
      day++;
      if (day >= last) return new Date(skeleton(cache.zone, last).start);
    }
  }
  left = -left;
  for (;;) {
    const spans = spansOf(cal, cache, day);
    for (let i = spans.length - 2; i >= 0; i -= 2) {
      const s = spans[i] as number;
      if (s >= u) continue;
      const e = Math.min(spans[i + 1] as number, u);
      if (left <= e - s) return new Date(e - left);
      left -= e - s;
    }
    closedDays = spans.length === 0 ? closedDays + 1 : 0;
    if (closedDays > MAX_CLOSED_DAYS) neverOpens();
    day--;
    if (day <= first) return new Date(skeleton(cache.zone, first).start);
  }
}

/** Open minutes in [from, to) (fractional, ms-exact); negative when to is before from. */
export function businessMinutesBetween(cal: BusinessCalendar, from: Date, to: Date): number {
  const a = from.getTime();
  const b = to.getTime();
  if (b < a) {
    const back = businessMinutesBetween(cal, to, from);
    // never -0: Intl.NumberFormat prints it as "-0" on a badge
    return back === 0 ? 0 : -back;
  }
  const cache = cacheOf(cal);
  let ms = 0;
  const last = dayOf(cache.zone, b);
  for (let day = dayOf(cache.zone, a); day <= last; day++) {
    const spans = spansOf(cal, cache, day);
    for (let i = 0; i < spans.length; i += 2) {
      const s = Math.max(spans[i] as number, a);
      const e = Math.min(spans[i + 1] as number, b);
      if (e > s) ms += e - s;
    }
  }
  return ms / MINUTE;
}

export function isOpenAt(cal: BusinessCalendar, at: Date): boolean {
  const cache = cacheOf(cal);
  const u = at.getTime();
  const spans = spansOf(cal, cache, dayOf(cache.zone, u));
  for (let i = 0; i < spans.length; i += 2) {
    if ((spans[i] as number) <= u && u < (spans[i + 1] as number)) return true;
  }
  return false;
}
