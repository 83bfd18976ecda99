import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../test-support/random.ts';
import { addBusinessMinutes, businessMinutesBetween, isOpenAt, MAX_DEADLINE_DAYS } from './calendar.ts';
import { swedishClosedDates } from './holidays.ts';
import type { BusinessCalendar } from './types.ts';

const test = suite('Business-time arithmetic');

const zone = 'Europe/Stockholm';
const holidays = new Set(swedishClosedDates(2024, 2031, { eves: true }));
const weekdays = (spans: [number, number][]): [number, number][][] => [...Array(5).fill(spans), [], []];
// Mon–Fri 08:00–12:00 and 13:00–17:00, Swedish holidays and eves closed.
const office: BusinessCalendar = {
  timeZone: zone,
  week: weekdays([
    [480, 720],
    [780, 1020],
  ]),
  closedDates: holidays,
};
const noLunch: BusinessCalendar = { timeZone: zone, week: weekdays([[480, 1020]]), closedDates: holidays };
const allHours: BusinessCalendar = { timeZone: zone, week: Array(7).fill([[0, 1440]]), closedDates: new Set() };

const at = (iso: string) => new Date(iso);
const add = (cal: BusinessCalendar, from: string, minutes: number) =>
  addBusinessMinutes(cal, at(from), minutes).toISOString();
const between = (cal: BusinessCalendar, from: string, to: string) => businessMinutesBetween(cal, at(from), at(to));

// Stockholm is UTC+1 in winter (CET) and UTC+2 in summer (CEST); instants are written in UTC.
test('a mail at night is owed from the morning', () => {
  // Tuesday 8 December 2026, 02:00 local
  assert.is(add(office, '2026-12-08T01:00:00Z', 120), '2026-12-08T09:00:00.000Z');
  // just before midnight, Monday
  assert.is(add(office, '2026-12-07T22:59:00Z', 120), '2026-12-08T09:00:00.000Z');
});

test('a mail on Friday 16:30 with a 2-hour target is due Monday 09:30', () => {
  assert.is(add(noLunch, '2026-12-04T15:30:00Z', 120), '2026-12-07T08:30:00.000Z');
  // with lunch too: the 90 minutes left fit in Monday's morning
  assert.is(add(office, '2026-12-04T15:30:00Z', 120), '2026-12-07T08:30:00.000Z');
  // and 5 hours runs past lunch: 30 Friday, 240 Monday morning, 30 after lunch → 13:30
  assert.is(add(office, '2026-12-04T15:30:00Z', 300), '2026-12-07T12:30:00.000Z');
});

test('a target that uses up a span ends at its close, not the next opening', () => {
  // 16:00 + 60 → 17:00 the same day
  assert.is(add(office, '2026-12-08T15:00:00Z', 60), '2026-12-08T16:00:00.000Z');
  // 10:00 + 120 → 12:00, not 13:00 after lunch
  assert.is(add(office, '2026-12-08T09:00:00Z', 120), '2026-12-08T11:00:00.000Z');
  // one minute more moves past lunch
  assert.is(add(office, '2026-12-08T09:00:00Z', 121), '2026-12-08T12:01:00.000Z');
});

test('0 minutes: the instant itself when open, else the next opening', () => {
  assert.is(add(office, '2026-12-08T09:17:00Z', 0), '2026-12-08T09:17:00.000Z');
  assert.is(add(office, '2026-12-08T11:30:00Z', 0), '2026-12-08T12:00:00.000Z');
  assert.is(add(office, '2026-12-04T16:00:00Z', 0), '2026-12-07T07:00:00.000Z');
  // at a close exactly the span is over
  assert.is(add(office, '2026-12-08T16:00:00Z', 0), '2026-12-09T07:00:00.000Z');
});

test('a mail on a holiday or an eve waits for the next working day', () => {
  // midsommarafton, Friday 19 June 2026, 10:00 CEST → Monday 22 June 08:00 + 2 h
  assert.is(add(office, '2026-06-19T08:00:00Z', 120), '2026-06-22T08:00:00.000Z');
  // julafton Thursday 24 December 2026, juldagen Friday, annandag jul Saturday → Monday 28th
  assert.is(add(office, '2026-12-24T09:00:00Z', 120), '2026-12-28T09:00:00.000Z');
  assert.is(add(office, '2026-12-25T09:00:00Z', 120), '2026-12-28T09:00:00.000Z');
  // without the eves, julafton is an ordinary Thursday: 10:00 + 2 h ends at the lunch break
  const noEves = { ...office, closedDates: new Set(swedishClosedDates(2026, 2026, { eves: false })) };
  assert.is(add(noEves, '2026-12-24T09:00:00Z', 120), '2026-12-24T11:00:00.000Z');
  // Ascension Day, Thursday 14 May 2026
  assert.is(add(office, '2026-05-13T14:00:00Z', 120), '2026-05-15T07:00:00.000Z');
});

test('a mail on Saturday is owed from Monday morning', () => {
  assert.is(add(office, '2026-12-05T10:00:00Z', 120), '2026-12-07T09:00:00.000Z');
  assert.is(add(office, '2026-12-06T22:59:59.999Z', 1), '2026-12-07T07:01:00.000Z');
});

test('long targets run for weeks', () => {
  // 3 working weeks of 8 hours from Monday 7 September 2026 08:00 CEST: Friday 25 September 17:00
  assert.is(add(office, '2026-09-07T06:00:00Z', 15 * 480), '2026-09-25T15:00:00.000Z');
  // over Christmas and New Year: 22 Dec 2026 (Tue) 08:00 + 5 working days
  // → 22, 23, 28, 29, 30 (24–27 and 31 closed) → Wednesday 30 December 17:00 CET
  assert.is(add(office, '2026-12-22T07:00:00Z', 5 * 480), '2026-12-30T16:00:00.000Z');
  assert.is(between(office, '2026-12-22T07:00:00Z', '2026-12-30T16:00:00Z'), 5 * 480);
});

test('fractional minutes are exact to the millisecond', () => {
  assert.is(add(office, '2026-12-08T09:00:00Z', 0.5), '2026-12-08T09:00:30.000Z');
  assert.is(add(office, '2026-12-08T09:00:00Z', 0.0001), '2026-12-08T09:00:00.006Z');
  assert.is(between(office, '2026-12-08T09:00:00Z', '2026-12-08T09:00:00.006Z'), 0.0001);
  assert.is(add(office, '2026-12-08T10:59:59.999Z', 1 / 60_000), '2026-12-08T11:00:00.000Z');
});

test('negative minutes count back: the latest instant that far before', () => {
  assert.is(add(office, '2026-12-07T08:00:00Z', -60), '2026-12-07T07:00:00.000Z');
  // Monday 09:00 back 2 h: Monday's first hour, then Friday 16:00–17:00 → starts Friday 16:00
  assert.is(add(office, '2026-12-07T08:00:00Z', -120), '2026-12-04T15:00:00.000Z');
  // a whole span back lands on its opening
  assert.is(add(office, '2026-12-08T12:00:00Z', -240), '2026-12-08T07:00:00.000Z');
});

test('businessMinutesBetween counts [from, to) and is negative backwards', () => {
  assert.is(between(office, '2026-12-07T00:00:00Z', '2026-12-12T00:00:00Z'), 5 * 480);
  assert.is(between(office, '2026-12-12T00:00:00Z', '2026-12-07T00:00:00Z'), -5 * 480);
  assert.is(between(office, '2026-12-08T10:30:00Z', '2026-12-08T12:30:00Z'), 60);
  assert.is(between(office, '2026-12-05T10:00:00Z', '2026-12-06T10:00:00Z'), 0);
  assert.is(between(office, '2026-12-08T10:00:00Z', '2026-12-08T10:00:00Z'), 0);
  assert.ok(Object.is(between(office, '2026-12-06T10:00:00Z', '2026-12-05T10:00:00Z'), 0));
  // a copy of a calendar answers the same (the cache is keyed by its parts)
  assert.is(between({ ...office }, '2026-12-07T00:00:00Z', '2026-12-12T00:00:00Z'), 5 * 480);
});

test('isOpenAt: open from the opening, closed from the close', () => {
  assert.ok(isOpenAt(office, at('2026-12-08T07:00:00Z')));
  assert.not.ok(isOpenAt(office, at('2026-12-08T06:59:59.999Z')));
  assert.ok(isOpenAt(office, at('2026-12-08T10:59:59.999Z')));
  assert.not.ok(isOpenAt(office, at('2026-12-08T11:00:00Z')));
  assert.not.ok(isOpenAt(office, at('2026-12-05T10:00:00Z')));
  assert.not.ok(isOpenAt(office, at('2026-12-25T10:00:00Z')));
});

test('spring forward, last Sunday in March 2026: the lost hour is not there', () => {
  // 24/7: 60 minutes across 02:00–03:00 on the spring-forward night are 60 real minutes
  assert.is(add(allHours, '2026-03-29T00:30:00Z', 60), '2026-03-29T01:30:00.000Z');
  assert.is(between(allHours, '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'), 23 * 60);
  // Sunday 01:00–04:00 local: 01:00 CET to 04:00 CEST is two real hours
  const night: BusinessCalendar = {
    timeZone: zone,
    week: [[], [], [], [], [], [], [[60, 240]]],
    closedDates: new Set(),
  };
  assert.is(between(night, '2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z'), 120);
  assert.is(add(night, '2026-03-28T00:00:00Z', 120), '2026-03-29T02:00:00.000Z');
  // a span inside the gap (02:30–02:50) is empty that day, open the next Sunday
  const inGap: BusinessCalendar = {
    timeZone: zone,
    week: [[], [], [], [], [], [], [[150, 170]]],
    closedDates: new Set(),
  };
  assert.is(between(inGap, '2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z'), 0);
  assert.is(add(inGap, '2026-03-28T00:00:00Z', 10), '2026-04-05T00:40:00.000Z');
  // a span ending in the gap ends at the jump (03:00 CEST = 01:00 UTC)
  const toGap: BusinessCalendar = {
    timeZone: zone,
    week: [[], [], [], [], [], [], [[0, 150]]],
    closedDates: new Set(),
  };
  assert.is(between(toGap, '2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z'), 120);
  assert.not.ok(isOpenAt(toGap, at('2026-03-29T01:00:00Z')));
  assert.ok(isOpenAt(toGap, at('2026-03-29T00:59:59.999Z')));
  // the office: Friday 16:00 CET + 2 h → Monday 09:00 CEST
  assert.is(add(office, '2026-03-27T15:00:00Z', 120), '2026-03-30T07:00:00.000Z');
});

test('fall back, last Sunday in October 2026: the doubled hour counts from its first time', () => {
  assert.is(add(allHours, '2026-10-25T00:30:00Z', 60), '2026-10-25T01:30:00.000Z');
  assert.is(between(allHours, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'), 25 * 60);
  // Sunday 01:00 CEST to 04:00 CET is four real hours
  const night: BusinessCalendar = {
    timeZone: zone,
    week: [[], [], [], [], [], [], [[60, 240]]],
    closedDates: new Set(),
  };
  assert.is(between(night, '2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z'), 240);
  // 02:30–02:50 exists twice: the span is the first 02:30 to the first 02:50 (CEST)
  const doubled: BusinessCalendar = {
    timeZone: zone,
    week: [[], [], [], [], [], [], [[150, 170]]],
    closedDates: new Set(),
  };
  assert.is(between(doubled, '2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z'), 20);
  assert.ok(isOpenAt(doubled, at('2026-10-25T00:30:00Z')));
  assert.not.ok(isOpenAt(doubled, at('2026-10-25T01:30:00Z')));
  // the office: Friday 16:00 CEST + 2 h → Monday 09:00 CET
  assert.is(add(office, '2026-10-23T14:00:00Z', 120), '2026-10-26T08:00:00.000Z');
  assert.is(between(office, '2026-10-19T00:00:00Z', '2026-11-02T00:00:00Z'), 10 * 480);
});

test('minutes or instants that are not finite throw rather than loop', () => {
  assert.throws(() => add(office, '2026-12-08T09:00:00Z', Number.NaN), RangeError);
  assert.throws(() => add(office, '2026-12-08T09:00:00Z', Number.POSITIVE_INFINITY), RangeError);
  assert.throws(() => addBusinessMinutes(office, new Date('not a date'), 1), RangeError);
});

test('a calendar that never opens throws rather than loop', () => {
  const never: BusinessCalendar = { timeZone: zone, week: Array(7).fill([]), closedDates: new Set() };
  assert.throws(() => add(never, '2026-12-08T09:00:00Z', 1), /calendar never opens/);
  assert.throws(() => add(never, '2026-12-08T09:00:00Z', 0), /calendar never opens/);
  assert.throws(() => add(never, '2026-12-08T09:00:00Z', -1), /calendar never opens/);
  assert.is(between(never, '2026-12-08T09:00:00Z', '2027-12-08T09:00:00Z'), 0);
  assert.not.ok(isOpenAt(never, at('2026-12-08T09:00:00Z')));
  // open once a year is still open: closed 364 days in a row, then a day
  const closed = new Set<string>();
  for (let d = Date.parse('2026-01-01'); d < Date.parse('2027-01-01'); d += 86_400_000) {
    closed.add(new Date(d).toISOString().slice(0, 10));
  }
  assert.is(add({ ...allHours, closedDates: closed }, '2026-01-01T00:00:00Z', 1), '2026-12-31T23:01:00.000Z');
});

test('a deadline more than twenty years of walking away stops there, in a moment, rather than hold the process', () => {
  // open one minute a week, and the largest target the form takes: 9,999 h 59 min would be
  // 11,500 years ahead, four million days to walk
  const minuteAWeek: BusinessCalendar = {
    timeZone: 'UTC',
    week: [[[0, 1]], [], [], [], [], [], []],
    closedDates: new Set(),
  };
  const started = Date.now();
  const due = addBusinessMinutes(minuteAWeek, at('2026-12-07T00:00:00Z'), 9_999 * 60 + 59);
  assert.is(
    due.toISOString(),
    new Date(Date.parse('2026-12-07T00:00:00Z') + MAX_DEADLINE_DAYS * 86_400_000).toISOString(),
  );
  const back = addBusinessMinutes(minuteAWeek, at('2026-12-07T00:00:00Z'), -(9_999 * 60 + 59));
  assert.is(
    back.toISOString(),
    new Date(Date.parse('2026-12-07T00:00:00Z') - MAX_DEADLINE_DAYS * 86_400_000).toISOString(),
  );
  assert.ok(Date.now() - started < 5_000, 'it walks days, not millions of them');
});

const START = Date.parse('2025-01-01T00:00:00Z');
const SPAN = Date.parse('2030-06-01T00:00:00Z') - START;
const zones = ['Europe/Stockholm', 'America/New_York', 'Australia/Sydney', 'UTC'];

function randomCalendar(rnd: () => number): BusinessCalendar {
  const week: [number, number][][] = [];
  for (let d = 0; d < 7; d++) week.push(randomSpans(rnd));
  if (week.every((s) => s.length === 0)) week[0] = [[480, 1020]];
  const closed = new Set<string>();
  for (let i = Math.floor(rnd() * 40); i > 0; i--) {
    closed.add(new Date(START + Math.floor(rnd() * SPAN)).toISOString().slice(0, 10));
  }
  return { timeZone: zones[Math.floor(rnd() * zones.length)] as string, week, closedDates: closed };
}
function randomSpans(rnd: () => number): [number, number][] {
  if (rnd() < 0.3) return [];
  if (rnd() < 0.1) return [[0, 1440]];
  const cuts = new Set<number>();
  for (let i = 2 * (1 + Math.floor(rnd() * 3)); i > 0; i--) cuts.add(Math.floor(rnd() * 1441));
  const sorted = [...cuts].sort((a, b) => a - b);
  const spans: [number, number][] = [];
  for (let i = 0; i + 1 < sorted.length; i += 2) spans.push([sorted[i] as number, sorted[i + 1] as number]);
  return spans;
}
// The union of a day's spans and one more, still sorted and apart.
function withSpan(spans: [number, number][], extra: [number, number]): [number, number][] {
  const all = [...spans, extra].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of all) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
const randomCases = (fn: (rnd: () => number, seed: number) => void) => {
  for (let seed = 1; seed <= 2000; seed++) fn(seededRandom(seed), seed);
};
const randomFrom = (rnd: () => number) => new Date(START + Math.floor(rnd() * SPAN));
const randomMinutes = (rnd: () => number) => (rnd() < 0.1 ? 0 : Math.round(rnd() * 6000 * 1000) / 1000);

// A deadline is never in closed hours: it is an open instant, or the close of an open span (the
// instant a millisecond after an open one). With 0 minutes it is always an open instant.
test('property: a deadline is open, or exactly the close of an open span', () => {
  randomCases((rnd, seed) => {
    const cal = rnd() < 0.3 ? office : randomCalendar(rnd);
    const from = randomFrom(rnd);
    const minutes = randomMinutes(rnd);
    const due = addBusinessMinutes(cal, from, minutes);
    const msg = `seed ${seed}: ${from.toISOString()} + ${minutes} → ${due.toISOString()}`;
    assert.ok(due >= from, msg);
    if (minutes === 0) assert.ok(isOpenAt(cal, due), msg);
    else assert.ok(isOpenAt(cal, due) || isOpenAt(cal, new Date(due.getTime() - 1)), msg);
    assert.is(Math.round(businessMinutesBetween(cal, from, due) * 60_000), Math.round(minutes * 60_000), msg);
  });
});

test('property: more open time never moves a deadline later', () => {
  randomCases((rnd, seed) => {
    const cal = rnd() < 0.3 ? office : randomCalendar(rnd);
    const from = randomFrom(rnd);
    const minutes = randomMinutes(rnd);
    let wider: BusinessCalendar;
    if (rnd() < 0.5 && cal.closedDates.size > 0) {
      const dates = [...cal.closedDates];
      const drop = dates[Math.floor(rnd() * dates.length)];
      wider = { ...cal, closedDates: new Set(dates.filter((d) => d !== drop)) };
    } else {
      const day = Math.floor(rnd() * 7);
      const a = Math.floor(rnd() * 1440);
      const b = a + 1 + Math.floor(rnd() * (1440 - a));
      const week = cal.week.map((spans, i) => (i === day ? withSpan(spans, [a, b]) : spans));
      wider = { ...cal, week };
    }
    const due = addBusinessMinutes(cal, from, minutes);
    const sooner = addBusinessMinutes(wider, from, minutes);
    assert.ok(sooner <= due, `seed ${seed}: ${sooner.toISOString()} > ${due.toISOString()}`);
  });
});

test('property: adding the minutes between from and x lands at or before x, and they round-trip', () => {
  randomCases((rnd, seed) => {
    const cal = rnd() < 0.3 ? office : randomCalendar(rnd);
    const from = randomFrom(rnd);
    const x = new Date(from.getTime() + Math.floor(rnd() * 30 * 86_400_000));
    const minutes = businessMinutesBetween(cal, from, x);
    const msg = `seed ${seed}: ${from.toISOString()} → ${x.toISOString()} (${minutes})`;
    assert.ok(minutes >= 0, msg);
    assert.is(businessMinutesBetween(cal, x, from), -minutes, msg);
    // 0 minutes means the next opening, which may come after x
    if (minutes === 0) return;
    const back = addBusinessMinutes(cal, from, minutes);
    assert.ok(back <= x, msg);
    assert.is(businessMinutesBetween(cal, from, back), minutes, msg);
    // and counting back from x by the same minutes lands at or after from
    const start = addBusinessMinutes(cal, x, -minutes);
    assert.ok(start >= from, msg);
    assert.is(businessMinutesBetween(cal, start, x), minutes, msg);
  });
});

test('property: a 24/7 calendar is wall-clock arithmetic, DST or not', () => {
  randomCases((rnd, seed) => {
    const cal = { ...allHours, timeZone: zones[seed % zones.length] as string };
    const from = randomFrom(rnd);
    const minutes = randomMinutes(rnd) * 10;
    const msg = `seed ${seed}`;
    assert.is(addBusinessMinutes(cal, from, minutes).getTime(), from.getTime() + Math.round(minutes * 60_000), msg);
    assert.is(addBusinessMinutes(cal, from, -minutes).getTime(), from.getTime() - Math.round(minutes * 60_000), msg);
    const to = new Date(from.getTime() + Math.floor(rnd() * 90 * 86_400_000));
    assert.is(businessMinutesBetween(cal, from, to), (to.getTime() - from.getTime()) / 60_000, msg);
    assert.ok(isOpenAt(cal, from), msg);
  });
});

test('property: isOpenAt agrees with businessMinutesBetween over the next millisecond', () => {
  randomCases((rnd, seed) => {
    const cal = rnd() < 0.3 ? office : randomCalendar(rnd);
    const t = randomFrom(rnd);
    const open = businessMinutesBetween(cal, t, new Date(t.getTime() + 1)) > 0;
    assert.is(isOpenAt(cal, t), open, `seed ${seed}`);
  });
});

test.run();
