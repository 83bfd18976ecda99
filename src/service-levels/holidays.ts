// Sweden's closed days for business calendars, from the date-holidays library's data.
// Public holidays are the allmänna helgdagar of lagen (1989:253) om allmänna helgdagar that fall on
// fixed or Easter-bound dates (Sundays are left to the calendar's week). The eves are the three
// that Semesterlagen 3 a § and most collective agreements treat as holidays: midsommarafton,
// julafton, nyårsafton. Påskafton is not among them: it is always a Saturday, and a firm open on
// Saturdays usually stays open on it, so a Monday–Friday calendar loses nothing by leaving it out.
import Holidays from 'date-holidays';

export type NamedHoliday = { date: string; sv: string; en: string };

// date-holidays types SE's allmänna helgdagar 'public' and exactly the three eves 'bank'.
function holidaysOf(year: number, eves: boolean): NamedHoliday[] {
  const hd = new Holidays('SE');
  const wanted = (type: string) => type === 'public' || (eves && type === 'bank');
  const sv = hd.getHolidays(year, 'sv').filter((h) => wanted(h.type));
  const en = new Map(
    hd
      .getHolidays(year, 'en')
      .filter((h) => wanted(h.type))
      .map((h) => [h.date.slice(0, 10), h.name]),
  );
  // The library's `date` is the local date and time as text; its Date fields are instants in the
  // machine's zone, which would shift a date on a server outside Sweden.
  return sv.map((h) => {
    const date = h.date.slice(0, 10);
    return { date, sv: h.name, en: en.get(date) ?? h.name };
  });
}

/** Local dates 'YYYY-MM-DD' of Sweden's public holidays (and with eves, the three eves), sorted. */
export function swedishClosedDates(fromYear: number, toYear: number, opts: { eves: boolean }): string[] {
  return swedishHolidayNames(fromYear, toYear, opts).map((h) => h.date);
}

/** The same days with their names in Swedish and English, for the admin page. */
export function swedishHolidayNames(fromYear: number, toYear: number, opts: { eves: boolean }): NamedHoliday[] {
  const all: NamedHoliday[] = [];
  for (let year = fromYear; year <= toYear; year++) all.push(...holidaysOf(year, opts.eves));
  const byDate = new Map(all.map((h) => [h.date, h]));
  return [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

// The holiday source the app hands the policies' calendars (queries.ts HolidayDates): one function
// for the whole process, so the memo of the years' holidays and the calendars built from them,
// keyed by it, are found again on every case event and every page.
export const swedishHolidayDates = (fromYear: number, toYear: number, eves: boolean): string[] =>
  swedishClosedDates(fromYear, toYear, { eves });

// The same days with their names, as the business-hours page is handed them (admin-routes.ts
// HolidayNames).
export const swedishHolidayList = (fromYear: number, toYear: number, eves: boolean): NamedHoliday[] =>
  swedishHolidayNames(fromYear, toYear, { eves });
