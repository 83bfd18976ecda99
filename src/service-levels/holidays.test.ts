import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { swedishClosedDates, swedishHolidayNames } from './holidays.ts';

const test = suite('Swedish closed dates');

// Written out by hand from the law's list and each year's Easter Sunday (2025-04-20, 2026-04-05,
// 2027-03-28, 2028-04-16, 2029-04-01, 2030-04-21): långfredagen E−2, annandag påsk E+1, Kristi
// himmelsfärdsdag E+39, pingstdagen E+49; midsommardagen the Saturday 20–26 June, alla helgons dag
// the Saturday 31 October–6 November. Per year: [långfredagen, påskdagen, annandag påsk, Kristi
// himmelsfärdsdag, pingstdagen, midsommarafton, midsommardagen, alla helgons dag].
const moving: Record<number, string[]> = {
  2025: ['04-18', '04-20', '04-21', '05-29', '06-08', '06-20', '06-21', '11-01'],
  2026: ['04-03', '04-05', '04-06', '05-14', '05-24', '06-19', '06-20', '10-31'],
  2027: ['03-26', '03-28', '03-29', '05-06', '05-16', '06-25', '06-26', '11-06'],
  2028: ['04-14', '04-16', '04-17', '05-25', '06-04', '06-23', '06-24', '11-04'],
  2029: ['03-30', '04-01', '04-02', '05-10', '05-20', '06-22', '06-23', '11-03'],
  2030: ['04-19', '04-21', '04-22', '05-30', '06-09', '06-21', '06-22', '11-02'],
};
const fixed = ['01-01', '01-06', '05-01', '06-06', '12-25', '12-26'];
const fixedEves = ['12-24', '12-31'];

function expected(year: number, eves: boolean): string[] {
  const [gf, easter, em, asc, pent, midsummerEve, midsummer, allSaints] = moving[year] as string[];
  const days = [...fixed, gf, easter, em, asc, pent, midsummer, allSaints] as string[];
  if (eves) days.push(midsummerEve as string, ...fixedEves);
  return days.map((d) => `${year}-${d}`).sort();
}

test('the public holidays 2025–2030, one year at a time', () => {
  for (let year = 2025; year <= 2030; year++) {
    assert.equal(swedishClosedDates(year, year, { eves: false }), expected(year, false), String(year));
  }
});

test('with eves: midsommarafton, julafton and nyårsafton too, never påskafton', () => {
  for (let year = 2025; year <= 2030; year++) {
    const dates = swedishClosedDates(year, year, { eves: true });
    assert.equal(dates, expected(year, true), String(year));
    const easter = moving[year]?.[1] as string;
    const easterEve = new Date(Date.parse(`${year}-${easter}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    assert.not.ok(dates.includes(easterEve));
  }
});

test('a range of years is the years together, sorted', () => {
  const all: string[] = [];
  for (let year = 2025; year <= 2030; year++) all.push(...expected(year, true));
  assert.equal(swedishClosedDates(2025, 2030, { eves: true }), all.sort());
  assert.equal(swedishClosedDates(2026, 2025, { eves: true }), []);
});

test('the days that always fall on a weekend do', () => {
  for (let year = 2025; year <= 2030; year++) {
    const [, easter, , , pent, eve, midsummer, allSaints] = moving[year] as string[];
    const weekday = (d: string | undefined) => new Date(`${year}-${d}T12:00:00Z`).getUTCDay();
    assert.is(weekday(easter), 0);
    assert.is(weekday(pent), 0);
    assert.is(weekday(eve), 5);
    assert.is(weekday(midsummer), 6);
    assert.is(weekday(allSaints), 6);
  }
});

test('names in Swedish and English for the admin page', () => {
  const named = swedishHolidayNames(2026, 2026, { eves: true });
  assert.equal(
    named.map((h) => h.date),
    expected(2026, true),
  );
  assert.equal(
    named.find((h) => h.date === '2026-06-19'),
    { date: '2026-06-19', sv: 'midsommarafton', en: 'Midsummer Eve' },
  );
  assert.equal(
    named.find((h) => h.date === '2026-12-25'),
    { date: '2026-12-25', sv: 'juldagen', en: 'Christmas Day' },
  );
});

test.run();
