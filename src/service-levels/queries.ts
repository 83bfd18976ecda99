import type { Selectable } from 'kysely';
import { cachedRead, deepFreeze } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import type { BusinessCalendarsTable, SlaPoliciesTable } from '../db/schema.ts';
import type { BusinessCalendar, SlaTargets } from './types.ts';

export type CalendarRow = Selectable<BusinessCalendarsTable>;
export type PolicyRow = Selectable<SlaPoliciesTable>;
export type ClosedDay = { id: number; date: string; note: string };

// The public holidays (and, with eves, julafton, nyårsafton and midsommarafton) of the years
// fromYear..toYear as local dates 'YYYY-MM-DD'. Handed in rather than imported, so this module
// does not decide where holidays come from (holidays.ts wraps date-holidays; tests pass a list).
export type HolidayDates = (fromYear: number, toYear: number, eves: boolean) => string[];

// What a case's clock runs by: the first active policy that matched, with its calendar.
export type SlaPolicyMatch = {
  policyId: number;
  targets: SlaTargets;
  calendar: BusinessCalendar;
  escalationUserId: number | null;
};

// The case's fields the conditions look at.
export type SlaCaseFacts = { customerId: number | null; priorityId: number | null; caseTypeId: number | null };

// ---- the administration pages

export async function listCalendars(db: Db) {
  return db
    .selectFrom('business_calendars')
    .select((eb) => [
      'business_calendars.id',
      'business_calendars.name',
      'business_calendars.time_zone',
      'business_calendars.week',
      'business_calendars.swedish_holidays',
      'business_calendars.closed_eves',
      eb
        .selectFrom('sla_policies')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('sla_policies.calendar_id', '=', 'business_calendars.id')
        .as('policy_count'),
      eb
        .selectFrom('business_calendar_closed_days')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('business_calendar_closed_days.calendar_id', '=', 'business_calendars.id')
        .as('closed_day_count'),
    ])
    .orderBy('business_calendars.name')
    .execute();
}

export async function findCalendar(db: Db, id: number): Promise<CalendarRow | undefined> {
  return db.selectFrom('business_calendars').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listClosedDays(db: Db, calendarId: number): Promise<ClosedDay[]> {
  return db
    .selectFrom('business_calendar_closed_days')
    .select(['id', 'date', 'note'])
    .where('calendar_id', '=', calendarId)
    .orderBy('date')
    .execute();
}

// The policies that use a calendar, named on its page (a calendar in use cannot be deleted).
export async function listPoliciesUsingCalendar(db: Db, calendarId: number) {
  return db
    .selectFrom('sla_policies')
    .select(['id', 'name'])
    .where('calendar_id', '=', calendarId)
    .orderBy('position')
    .execute();
}

// The list in the order they are tried, with the names of what each condition names.
export async function listPolicies(db: Db) {
  return db
    .selectFrom('sla_policies as p')
    .innerJoin('business_calendars as cal', 'cal.id', 'p.calendar_id')
    .leftJoin('customers as cu', 'cu.id', 'p.customer_id')
    .leftJoin('priorities as pr', 'pr.id', 'p.priority_id')
    .leftJoin('case_types as ct', 'ct.id', 'p.case_type_id')
    .leftJoin('users as u', 'u.id', 'p.escalation_user_id')
    .select([
      'p.id',
      'p.name',
      'p.position',
      'p.active',
      'p.customer_id',
      'p.priority_id',
      'p.case_type_id',
      'p.first_response_minutes',
      'p.next_response_minutes',
      'p.resolution_minutes',
      'cal.name as calendar_name',
      'cu.name as customer_name',
      'cu.number as customer_number',
      'pr.name as priority_name',
      'ct.name as case_type_name',
      'u.name as escalation_user_name',
    ])
    .orderBy('p.position')
    .execute();
}
export type PolicyListRow = Awaited<ReturnType<typeof listPolicies>>[number];

export async function findPolicy(db: Db, id: number) {
  return db
    .selectFrom('sla_policies as p')
    .leftJoin('customers as cu', 'cu.id', 'p.customer_id')
    .selectAll('p')
    .select(['cu.number as customer_number', 'cu.name as customer_name'])
    .where('p.id', '=', id)
    .executeTakeFirst();
}
export type PolicyWithCustomer = NonNullable<Awaited<ReturnType<typeof findPolicy>>>;

// What the policy form offers. Inactive rows are left out, except one the policy already names,
// so saving a policy unchanged never drops a condition.
export async function loadPolicyFormOptions(db: Db, current?: PolicyRow) {
  const keep = (id: number | null | undefined) => id ?? 0;
  const [calendars, priorities, caseTypes, users] = await Promise.all([
    db.selectFrom('business_calendars').select(['id', 'name']).orderBy('name').execute(),
    db
      .selectFrom('priorities')
      .select(['id', 'name'])
      .where((eb) => eb.or([eb('active', '=', true), eb('id', '=', keep(current?.priority_id))]))
      .orderBy('rank')
      .execute(),
    db
      .selectFrom('case_types')
      .select(['id', 'name'])
      .where((eb) => eb.or([eb('active', '=', true), eb('id', '=', keep(current?.case_type_id))]))
      .orderBy('position')
      .orderBy('name')
      .execute(),
    db
      .selectFrom('users')
      .select(['id', 'name', 'login'])
      .where((eb) => eb.or([eb('active', '=', true), eb('id', '=', keep(current?.escalation_user_id))]))
      .orderBy('name')
      .execute(),
  ]);
  return { calendars, priorities, caseTypes, users };
}

export async function findCustomerByNumber(db: Db, number: string) {
  return db.selectFrom('customers').select(['id', 'name']).where('number', '=', number).executeTakeFirst();
}

// ---- what the case lifecycle asks, on every case event

type CachedCalendar = Omit<CalendarRow, 'created_at' | 'updated_at'> & { closedDays: readonly string[] };
type ServiceLevelSetup = { policies: readonly PolicyRow[]; calendars: Readonly<Record<number, CachedCalendar>> };

const setupTables = ['sla_policies', 'business_calendars', 'business_calendar_closed_days'] as const;

// Every policy in order (the inactive ones too: a case's badge still reads the calendar of the
// policy its clock ran by) and every calendar with its added closed days: a few rows that change
// when an administrator edits them and are read on every case event. Kept in this process by
// cachedRead and dropped when any instance writes one of the three tables (their change
// triggers, migration 20261204_1500). Inside a lifecycle transaction too: reading them afresh
// there cost three round trips on every status change and, in Kontroll's batches, on every case;
// an edit reaches the other instances' cases within the notification's delay.
function loadSetup(db: Db): Promise<ServiceLevelSetup> {
  return cachedRead(
    db,
    'sla-setup',
    setupTables,
    async (db) => {
      const [policies, calendars, closedDays] = await Promise.all([
        db.selectFrom('sla_policies').selectAll().orderBy('position').execute(),
        db
          .selectFrom('business_calendars')
          .select(['id', 'name', 'time_zone', 'week', 'swedish_holidays', 'closed_eves'])
          .execute(),
        db.selectFrom('business_calendar_closed_days').select(['calendar_id', 'date']).execute(),
      ]);
      const byId: Record<number, CachedCalendar> = {};
      for (const calendar of calendars) {
        byId[calendar.id] = {
          ...calendar,
          closedDays: closedDays.filter((day) => day.calendar_id === calendar.id).map((day) => day.date),
        };
      }
      return deepFreeze({ policies, calendars: byId });
    },
    { evenInTransaction: true },
  );
}

// A holiday list is the same for the same years, so each source's answers are kept: building
// the calendar on a hot path then costs one Set, not a holiday computation per case event.
const holidayMemo = new WeakMap<HolidayDates, Map<string, readonly string[]>>();
function holidaysOf(holidays: HolidayDates, fromYear: number, toYear: number, eves: boolean): readonly string[] {
  let memo = holidayMemo.get(holidays);
  if (!memo) {
    memo = new Map();
    holidayMemo.set(holidays, memo);
  }
  const key = `${fromYear}:${toYear}:${eves}`;
  let dates = memo.get(key);
  if (!dates) {
    dates = Object.freeze([...holidays(fromYear, toYear, eves)]);
    memo.set(key, dates);
  }
  return dates;
}

// The calendar the clock works in. Holidays cover the year before now to two years ahead: a
// clock replayed from a case opened last year, and a resolution target that runs past New Year.
// The same BusinessCalendar object for the same cached calendar, holiday source and year: the
// business-time sums keep their per-day answers per calendar object (calendar.ts), and a new object
// per request made every badge on the overview work out weeks of days afresh (25-30 ms a page).
const businessCalendars = new WeakMap<CachedCalendar, Map<HolidayDates, Map<number, BusinessCalendar>>>();
function toBusinessCalendar(calendar: CachedCalendar, holidays: HolidayDates, now: Date): BusinessCalendar {
  const year = now.getUTCFullYear();
  let bySource = businessCalendars.get(calendar);
  if (!bySource) {
    bySource = new Map();
    businessCalendars.set(calendar, bySource);
  }
  let byYear = bySource.get(holidays);
  if (!byYear) {
    byYear = new Map();
    bySource.set(holidays, byYear);
  }
  let built = byYear.get(year);
  if (!built) {
    built = buildBusinessCalendar(calendar, holidays, year);
    byYear.set(year, built);
  }
  return built;
}

function buildBusinessCalendar(calendar: CachedCalendar, holidays: HolidayDates, year: number): BusinessCalendar {
  const closed = new Set<string>(calendar.closedDays);
  if (calendar.swedish_holidays) {
    for (const date of holidaysOf(holidays, year - 1, year + 2, calendar.closed_eves)) closed.add(date);
  }
  // shared by every caller from now on: a change by one would change the others' deadlines
  for (const method of ['add', 'delete', 'clear']) {
    Object.defineProperty(closed, method, {
      value: () => {
        throw new TypeError('a calendar from the service levels cannot be changed');
      },
    });
  }
  return deepFreeze({
    timeZone: calendar.time_zone,
    week: calendar.week.map((day) => day.map(([open, close]): [number, number] => [open, close])),
    closedDates: Object.freeze(closed),
  });
}

function toMatch(policy: PolicyRow, calendar: CachedCalendar, holidays: HolidayDates, now: Date): SlaPolicyMatch {
  return {
    policyId: policy.id,
    targets: {
      firstResponseMinutes: policy.first_response_minutes,
      nextResponseMinutes: policy.next_response_minutes,
      resolutionMinutes: policy.resolution_minutes,
      pauseWhileWaiting: policy.pause_while_waiting,
      warnPercent: policy.warn_percent,
    },
    calendar: toBusinessCalendar(calendar, holidays, now),
    escalationUserId: policy.escalation_user_id,
  };
}

// A condition left empty matches any case; one set must equal the case's value (a case without a
// customer never matches a policy for a customer).
export const matchesPolicy = (policy: PolicyRow, c: SlaCaseFacts): boolean =>
  (policy.customer_id === null || policy.customer_id === c.customerId) &&
  (policy.priority_id === null || policy.priority_id === c.priorityId) &&
  (policy.case_type_id === null || policy.case_type_id === c.caseTypeId);

// The policy a case runs by: the first active one, by position, whose conditions all match.
// now: when to take the holidays' years from (an injected clock in tests).
export async function findSlaPolicy(
  db: Db,
  c: SlaCaseFacts,
  holidays: HolidayDates,
  now: Date = new Date(),
): Promise<SlaPolicyMatch | null> {
  const setup = await loadSetup(db);
  for (const policy of setup.policies) {
    if (!policy.active || !matchesPolicy(policy, c)) continue;
    const calendar = setup.calendars[policy.calendar_id];
    // the foreign key keeps a policy's calendar; absent only if read between two statements. A
    // calendar never open (the form refuses one; a script might not) has no business time, so no
    // deadline could fall due: its policy is passed over rather than failing every case event.
    if (calendar?.week.some((day) => day.length > 0)) return toMatch(policy, calendar, holidays, now);
  }
  return null;
}

// A policy by id, active or not, as findSlaPolicy gives it: for a case that keeps the policy it
// started with (its sla_policy_id) when its clock is replayed. Read afresh: rare, and an inactive
// policy is not in the cache.
export async function loadSlaPolicy(
  db: Db,
  policyId: number,
  holidays: HolidayDates,
  now: Date = new Date(),
): Promise<SlaPolicyMatch | null> {
  const policy = await db.selectFrom('sla_policies').selectAll().where('id', '=', policyId).executeTakeFirst();
  if (!policy) return null;
  const calendar = (await loadSetup(db)).calendars[policy.calendar_id];
  return calendar ? toMatch(policy, calendar, holidays, now) : null;
}

// One calendar as the clock works in it; null when there is no such calendar.
export async function loadCalendar(
  db: Db,
  id: number,
  holidays: HolidayDates,
  now: Date = new Date(),
): Promise<BusinessCalendar | null> {
  const calendar = (await loadSetup(db)).calendars[id];
  return calendar ? toBusinessCalendar(calendar, holidays, now) : null;
}

// The policies with these ids, as findSlaPolicy gives them (for the badges: each row's calendar).
export async function findSlaPoliciesById(
  db: Db,
  ids: readonly number[],
  holidays: HolidayDates,
  now: Date = new Date(),
): Promise<Map<number, SlaPolicyMatch>> {
  const setup = await loadSetup(db);
  const found = new Map<number, SlaPolicyMatch>();
  for (const policy of setup.policies) {
    const calendar = setup.calendars[policy.calendar_id];
    if (calendar && ids.includes(policy.id)) found.set(policy.id, toMatch(policy, calendar, holidays, now));
  }
  return found;
}
