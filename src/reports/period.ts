// The reports' period: a named one relative to today, or a custom range of days, and the period
// of the same length just before it to compare with. Days are ISO dates (YYYY-MM-DD) in the
// configured time zone; pure, so the rules are tested without a database.

export const periodKinds = ['this_week', 'last_week', 'this_month', 'last_month', 'this_year', 'custom'] as const;
export type PeriodKind = (typeof periodKinds)[number];
export type Period = { kind: PeriodKind; from: string; to: string; days: number };

// About three years: longer ranges would read most of the facts and draw unreadable charts.
export const maxDays = 1100;

const dayMs = 86_400_000;
const toMs = (day: string) => Date.parse(`${day}T00:00:00Z`);
const fromMs = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const addDays = (day: string, n: number) => fromMs(toMs(day) + n * dayMs);
export const daysBetween = (from: string, to: string) => Math.round((toMs(to) - toMs(from)) / dayMs) + 1;

// The day, or the period's first or last day if it lies outside.
export const clampDay = (day: string, period: { from: string; to: string }) =>
  day < period.from ? period.from : day > period.to ? period.to : day;

// A real calendar day written YYYY-MM-DD (2026-02-30 is not one).
export function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const ms = toMs(text);
  return Number.isFinite(ms) && fromMs(ms) === text && text >= '2000-01-01' && text <= '2100-12-31';
}

export type PeriodError = 'reports.error.bad_date' | 'reports.error.reversed' | 'reports.error.too_long';

export function resolvePeriod(
  kind: PeriodKind,
  today: string,
  custom: { from?: string; to?: string } = {},
): { ok: true; period: Period } | { ok: false; error: PeriodError } {
  const weekday = (new Date(toMs(today)).getUTCDay() + 6) % 7; // Monday = 0
  const [year, month] = today.split('-');
  const monthStart = `${year}-${month}-01`;
  let from: string;
  let to: string;
  switch (kind) {
    case 'this_week':
      from = addDays(today, -weekday);
      to = addDays(from, 6);
      break;
    case 'last_week':
      from = addDays(today, -weekday - 7);
      to = addDays(from, 6);
      break;
    case 'this_month':
      from = monthStart;
      to = addDays(fromMs(Date.UTC(Number(year), Number(month), 1)), -1);
      break;
    case 'last_month':
      to = addDays(monthStart, -1);
      from = `${to.slice(0, 7)}-01`;
      break;
    case 'this_year':
      from = `${year}-01-01`;
      to = `${year}-12-31`;
      break;
    case 'custom': {
      if (!custom.from || !custom.to || !isDay(custom.from) || !isDay(custom.to)) {
        return { ok: false, error: 'reports.error.bad_date' };
      }
      from = custom.from;
      to = custom.to;
      if (from > to) return { ok: false, error: 'reports.error.reversed' };
      if (daysBetween(from, to) > maxDays) return { ok: false, error: 'reports.error.too_long' };
      break;
    }
  }
  return { ok: true, period: { kind, from, to, days: daysBetween(from, to) } };
}

// The period to compare with: for a month or a year the calendar month or year before (November
// is compared with October, all 31 days of it), else the period of the same number of days that
// ends the day before this one starts.
export function previousPeriod(period: Period): Period {
  const to = addDays(period.from, -1);
  if (period.kind === 'this_month' || period.kind === 'last_month') {
    const from = `${to.slice(0, 7)}-01`;
    return { kind: 'custom', from, to, days: daysBetween(from, to) };
  }
  if (period.kind === 'this_year') {
    const from = `${to.slice(0, 4)}-01-01`;
    return { kind: 'custom', from, to, days: daysBetween(from, to) };
  }
  return { kind: 'custom', from: addDays(to, -(period.days - 1)), to, days: period.days };
}

// Bars per day up to two months, per week (starting Mondays) beyond.
export function bucketOf(period: Period): 'day' | 'week' {
  return period.days <= 62 ? 'day' : 'week';
}

// The buckets' first days, in order, covering the period.
export function bucketStarts(period: Period): string[] {
  const starts: string[] = [];
  if (bucketOf(period) === 'day') {
    for (let d = period.from; d <= period.to; d = addDays(d, 1)) starts.push(d);
  } else {
    const weekday = (new Date(toMs(period.from)).getUTCDay() + 6) % 7;
    for (let d = addDays(period.from, -weekday); d <= period.to; d = addDays(d, 7)) starts.push(d);
  }
  return starts;
}
