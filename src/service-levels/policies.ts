import { sql } from 'kysely';
import { z } from 'zod';
import { tablesChanged } from '../db/cached.ts';
import type { Db } from '../db/database.ts';
import { uniqueViolation } from '../db/errors.ts';
import {
  checkbox,
  type FieldErrors,
  FormError,
  optionalIdField,
  optionalText,
  parseForm,
  requiredText,
  singleLine,
} from '../forms/form.ts';
import { type CalendarRow, findCustomerByNumber, type PolicyWithCustomer } from './queries.ts';

// The administration's writes to business calendars and SLA policies (Administration → Business
// hours, → Service levels), with the checks their forms need. The one writer of these tables.

// ---- calendars

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];
type Span = [number, number];

// The zones the form offers and the only ones stored: every IANA zone this Node's ICU knows by its
// canonical name (Intl.supportedValuesOf leaves out UTC, which a calendar may well want), sorted.
// One Intl spells differently ('utc', 'Europe/Kiev' where ICU says Europe/Kyiv) or does not know
// is refused, so a stored zone is always one the clock computes in and the list can show selected.
export const timeZones: readonly string[] = Object.freeze(
  [...new Set([...Intl.supportedValuesOf('timeZone'), 'UTC'])].sort(),
);
const timeZoneSet: ReadonlySet<string> = new Set(timeZones);
export const isTimeZone = (zone: string): boolean => timeZoneSet.has(zone);

// 'HH:MM' (what <input type=time> sends; seconds, if a browser adds them, must be :00) as
// minutes after midnight; null for anything else.
export function parseClockTime(text: string): number | null {
  const match = /^(\d{2}):(\d{2})(?::00)?$/.exec(text);
  if (!match) return null;
  const [hours, minutes] = [Number(match[1]), Number(match[2])];
  if (text.startsWith('24:')) return minutes === 0 ? 1440 : null;
  return hours < 24 && minutes < 60 ? hours * 60 + minutes : null;
}

export function formatClockTime(minutes: number): string {
  const m = minutes % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

const timeText = singleLine().max(8, 'errors.sla.time');

const dayFields = Object.fromEntries(
  weekdays.flatMap((day) => [
    [`${day}_closed`, checkbox],
    [`${day}_opens`, timeText.optional()],
    [`${day}_closes`, timeText.optional()],
    [`${day}_break_from`, timeText.optional()],
    [`${day}_break_to`, timeText.optional()],
  ]),
) as Record<string, z.ZodType<string | boolean | undefined>>;

// One day's spans from its five fields, or the errors beside them. A time input cannot say
// 24:00, so a closing time of 00:00 means midnight at the end of the day: 00:00–00:00 is all day.
function daySpans(day: Weekday, data: Record<string, unknown>, errors: FieldErrors): Span[] {
  if (data[`${day}_closed`] === true) return [];
  const field = (name: string) => String(data[`${day}_${name}`] ?? '');
  const time = (name: string, required: boolean): number | null => {
    const text = field(name);
    if (text === '') {
      if (required) errors[`${day}_${name}`] = 'errors.required';
      return null;
    }
    const minutes = parseClockTime(text);
    if (minutes === null) errors[`${day}_${name}`] = 'errors.sla.time';
    return minutes;
  };
  const opens = time('opens', true);
  let closes = time('closes', true);
  if (closes === 0) closes = 1440;
  const breakFrom = time('break_from', false);
  const breakTo = time('break_to', false);
  if (opens === null || closes === null) return [];
  if (opens === 1440) {
    errors[`${day}_opens`] = 'errors.sla.time';
    return [];
  }
  if (closes <= opens) {
    errors[`${day}_closes`] = 'errors.sla.close_before_open';
    return [];
  }
  const breakGiven = [field('break_from'), field('break_to')].filter((t) => t !== '').length;
  if (breakGiven === 1) {
    errors[`${day}_${field('break_from') === '' ? 'break_from' : 'break_to'}`] = 'errors.sla.break_both';
    return [];
  }
  if (breakGiven === 0) return [[opens, closes]];
  if (breakFrom === null || breakTo === null) return [];
  if (breakTo <= breakFrom) {
    errors[`${day}_break_to`] = 'errors.sla.break_end_before_start';
    return [];
  }
  // a break that touches the opening or the closing would leave an empty span: say so instead
  if (breakFrom <= opens || breakTo >= closes) {
    errors[`${day}_break_from`] = 'errors.sla.break_outside';
    return [];
  }
  return [
    [opens, breakFrom],
    [breakTo, closes],
  ];
}

export const calendarSchema = z
  .object({
    name: requiredText(100),
    time_zone: singleLine()
      .min(1, 'errors.required')
      .max(64, 'errors.sla.time_zone')
      .refine(isTimeZone, 'errors.sla.time_zone'),
    swedish_holidays: checkbox,
    closed_eves: checkbox,
    ...dayFields,
  })
  // The hours are checked even when another field (the name, the zone) is wrong, so every
  // error shows at once; `when` runs the check on the values as far as they parsed.
  .superRefine(
    (data, ctx) => {
      const errors: FieldErrors = {};
      const open = weekdays.filter((day) => daySpans(day, data, errors).length > 0);
      // a week with no opening at all has no business time: no deadline could ever fall due
      if (!open.length && !Object.keys(errors).length) errors.mon_opens = 'errors.sla.never_open';
      for (const [field, message] of Object.entries(errors)) ctx.addIssue({ code: 'custom', path: [field], message });
    },
    { when: () => true },
  )
  .transform((data) => {
    const week = weekdays.map((day) => daySpans(day, data, {}));
    return {
      name: data.name,
      timeZone: data.time_zone,
      week,
      swedishHolidays: data.swedish_holidays,
      closedEves: data.closed_eves,
    };
  });
export type CalendarInput = z.output<typeof calendarSchema>;

// A form shows two spans a day at most (a break between them); a week stored with more (by a
// script) shows its first opening and last closing, with the first gap as the break.
export function calendarFormValues(
  calendar: Pick<CalendarRow, 'name' | 'time_zone' | 'week' | 'swedish_holidays' | 'closed_eves'> &
    Partial<Pick<CalendarRow, 'updated_at'>>,
): Record<string, string> {
  const values: Record<string, string> = {
    name: calendar.name,
    time_zone: calendar.time_zone,
    swedish_holidays: calendar.swedish_holidays ? 'on' : '',
    closed_eves: calendar.closed_eves ? 'on' : '',
  };
  if (calendar.updated_at) values.loaded_at = loadedAtValue(calendar.updated_at);
  weekdays.forEach((day, i) => {
    const spans = calendar.week[i] ?? [];
    const first = spans[0];
    const last = spans[spans.length - 1];
    if (!first || !last) {
      values[`${day}_closed`] = 'on';
      return;
    }
    values[`${day}_opens`] = formatClockTime(first[0]);
    values[`${day}_closes`] = formatClockTime(last[1]);
    const second = spans[1];
    if (second) {
      values[`${day}_break_from`] = formatClockTime(first[1]);
      values[`${day}_break_to`] = formatClockTime(second[0]);
    }
  });
  return values;
}

// A new calendar: weekdays 08:00–17:00, the weekend closed, Swedish holidays and eves closed.
export const newCalendarValues: Record<string, string> = calendarFormValues({
  name: '',
  time_zone: 'Europe/Stockholm',
  week: [[[480, 1020]], [[480, 1020]], [[480, 1020]], [[480, 1020]], [[480, 1020]], [], []],
  swedish_holidays: true,
  closed_eves: true,
});

const calendarUniqueErrors: Record<string, FieldErrors> = {
  business_calendars_name_key: { name: 'errors.name_taken' },
  business_calendar_closed_days_calendar_id_date_key: { date: 'errors.sla.closed_day_taken' },
};

async function refusingDuplicates<T>(write: () => Promise<T>, mapped: Record<string, FieldErrors>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const constraint = uniqueViolation(error);
    const fields = constraint === null ? undefined : mapped[constraint];
    throw fields ? new FormError(fields) : error;
  }
}

function calendarColumns(input: CalendarInput) {
  return {
    name: input.name,
    time_zone: input.timeZone,
    week: JSON.stringify(input.week),
    swedish_holidays: input.swedishHolidays,
    closed_eves: input.closedEves,
  };
}

export async function createCalendar(db: Db, input: CalendarInput): Promise<number> {
  const row = await refusingDuplicates(
    () => db.insertInto('business_calendars').values(calendarColumns(input)).returning('id').executeTakeFirstOrThrow(),
    calendarUniqueErrors,
  );
  tablesChanged(db, 'business_calendars');
  return row.id;
}

// loadedAt: when the form was opened (see StaleSaveError).
export async function updateCalendar(db: Db, id: number, input: CalendarInput, loadedAt?: Date): Promise<boolean> {
  const result = await refusingDuplicates(() => {
    let update = db
      .updateTable('business_calendars')
      .set({ ...calendarColumns(input), updated_at: new Date() })
      .where('id', '=', id);
    if (loadedAt) update = update.where(unchangedSince(loadedAt));
    return update.executeTakeFirst();
  }, calendarUniqueErrors);
  tablesChanged(db, 'business_calendars');
  if (result.numUpdatedRows > 0n) return true;
  return refuseIfSavedSince(db, 'business_calendars', id, 'sla.calendars.stale');
}

// A calendar that a policy uses stays: the policy would have nothing to count in.
export async function deleteCalendar(db: Db, id: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // the row lock keeps a policy from taking this calendar between the check and the delete
    const calendar = await trx
      .selectFrom('business_calendars')
      .select('id')
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!calendar) return;
    const used = await trx.selectFrom('sla_policies').select('id').where('calendar_id', '=', id).executeTakeFirst();
    if (used) throw new FormError({ _form: 'errors.sla.calendar_in_use' });
    await trx.deleteFrom('business_calendars').where('id', '=', id).execute();
  });
  tablesChanged(db, 'business_calendars', 'business_calendar_closed_days');
}

// A real calendar date, in a range a calendar can mean; each fault has its own message (a
// well-written 9999-01-01 was told to write the date as YYYY-MM-DD).
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateText = singleLine()
  .min(1, 'errors.required')
  .refine((text) => {
    const match = datePattern.exec(text);
    if (!match) return false;
    const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const date = new Date(Date.UTC(y, m - 1, d));
    return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  }, 'errors.date')
  .refine((text) => {
    const year = Number(datePattern.exec(text)?.[1]);
    return year >= 2000 && year <= 2200;
  }, 'errors.date_range');

export const closedDaySchema = z.object({ date: dateText, note: optionalText(200) });
export type ClosedDayInput = z.output<typeof closedDaySchema>;

export async function addClosedDay(db: Db, calendarId: number, input: ClosedDayInput): Promise<void> {
  await refusingDuplicates(
    () =>
      db
        .insertInto('business_calendar_closed_days')
        .values({ calendar_id: calendarId, date: input.date, note: input.note ?? '' })
        .execute(),
    calendarUniqueErrors,
  );
  tablesChanged(db, 'business_calendar_closed_days');
}

export async function removeClosedDay(db: Db, calendarId: number, dayId: number): Promise<boolean> {
  const result = await db
    .deleteFrom('business_calendar_closed_days')
    .where('id', '=', dayId)
    .where('calendar_id', '=', calendarId)
    .executeTakeFirst();
  tablesChanged(db, 'business_calendar_closed_days');
  return result.numDeletedRows > 0n;
}

// ---- policies

export const slaTargets = ['first_response', 'next_response', 'resolution'] as const;
export type SlaTargetField = (typeof slaTargets)[number];
const maxTargetHours = 9999;

// tooLarge names the limit ("At most 9999 hours."), so the admin knows what to type instead
const wholeNumber = (max: number, tooLarge: 'errors.sla.hours_too_large' | 'errors.sla.minutes_too_large') =>
  singleLine()
    .max(9, tooLarge)
    .optional()
    .refine((text) => !text || /^\d+$/.test(text), 'errors.sla.whole_minutes')
    .transform((text) => (text ? Number(text) : null))
    .refine((n) => n === null || n <= max, tooLarge);

const targetFields = Object.fromEntries(
  slaTargets.flatMap((target) => [
    [`${target}_hours`, wholeNumber(maxTargetHours, 'errors.sla.hours_too_large')],
    [`${target}_minutes`, wholeNumber(59, 'errors.sla.minutes_too_large')],
  ]),
) as Record<`${SlaTargetField}_${'hours' | 'minutes'}`, ReturnType<typeof wholeNumber>>;

export const policySchema = z
  .object({
    name: requiredText(100),
    active: checkbox,
    customer: singleLine().max(50, 'errors.too_long').optional(),
    priority_id: optionalIdField,
    case_type_id: optionalIdField,
    calendar_id: optionalIdField.refine((id) => id !== null, 'errors.required'),
    pause_while_waiting: checkbox,
    warn_percent: singleLine()
      .min(1, 'errors.required')
      .regex(/^\d{1,2}$/, 'errors.sla.warn_percent')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 99, 'errors.sla.warn_percent'),
    escalation_user_id: optionalIdField,
    ...targetFields,
  })
  // A target of 0 would breach on arrival. Checked even when another field is wrong (`when`), so
  // every error shows at once; a value that did not parse is not a number here and is skipped.
  .superRefine(
    (data, ctx) => {
      for (const target of slaTargets) {
        const [h, m] = [data[`${target}_hours`], data[`${target}_minutes`]];
        if (h === 0 && (m === 0 || m === null)) {
          ctx.addIssue({ code: 'custom', path: [`${target}_hours`], message: 'errors.sla.target_zero' });
        } else if (h === null && m === 0) {
          ctx.addIssue({ code: 'custom', path: [`${target}_minutes`], message: 'errors.sla.target_zero' });
        }
      }
      // A policy with no target starts no clock: a case it takes would show no deadline and
      // never reach a later policy that has one. Shown above the targets (field `targets`).
      const given = slaTargets.some((target) => data[`${target}_hours`] !== null || data[`${target}_minutes`] !== null);
      if (!given) ctx.addIssue({ code: 'custom', path: ['targets'], message: 'errors.sla.no_target' });
    },
    { when: () => true },
  )
  .transform((data) => {
    // hours and minutes, empty both: no such target
    const minutes = (target: SlaTargetField): number | null => {
      const [h, m] = [data[`${target}_hours`], data[`${target}_minutes`]];
      return h === null && m === null ? null : (h ?? 0) * 60 + (m ?? 0);
    };
    return {
      name: data.name,
      active: data.active,
      customerNumber: data.customer || null,
      priorityId: data.priority_id,
      caseTypeId: data.case_type_id,
      calendarId: data.calendar_id as number,
      firstResponseMinutes: minutes('first_response'),
      nextResponseMinutes: minutes('next_response'),
      resolutionMinutes: minutes('resolution'),
      pauseWhileWaiting: data.pause_while_waiting,
      warnPercent: data.warn_percent,
      escalationUserId: data.escalation_user_id,
    };
  });
export type PolicyInput = z.output<typeof policySchema>;

export const newPolicyValues: Record<string, string> = {
  active: 'on',
  pause_while_waiting: 'on',
  warn_percent: '75',
};

export function policyFormValues(policy: PolicyWithCustomer): Record<string, string> {
  const values: Record<string, string> = {
    name: policy.name,
    active: policy.active ? 'on' : '',
    customer: policy.customer_number ?? '',
    priority_id: String(policy.priority_id ?? ''),
    case_type_id: String(policy.case_type_id ?? ''),
    calendar_id: String(policy.calendar_id),
    pause_while_waiting: policy.pause_while_waiting ? 'on' : '',
    warn_percent: String(policy.warn_percent),
    escalation_user_id: String(policy.escalation_user_id ?? ''),
    loaded_at: loadedAtValue(policy.updated_at),
  };
  const stored: Record<SlaTargetField, number | null> = {
    first_response: policy.first_response_minutes,
    next_response: policy.next_response_minutes,
    resolution: policy.resolution_minutes,
  };
  for (const target of slaTargets) {
    const minutes = stored[target];
    values[`${target}_hours`] = minutes === null ? '' : String(Math.floor(minutes / 60));
    values[`${target}_minutes`] = minutes === null ? '' : String(minutes % 60);
  }
  return values;
}

// A row a picker named that is gone by the time it is saved (or an id typed by hand): the
// field's error, not a 500.
const foreignKeyFields: Record<string, string> = {
  sla_policies_calendar_id_fkey: 'calendar_id',
  sla_policies_customer_id_fkey: 'customer',
  sla_policies_priority_id_fkey: 'priority_id',
  sla_policies_case_type_id_fkey: 'case_type_id',
  sla_policies_escalation_user_id_fkey: 'escalation_user_id',
};

async function refusingBadReferences<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await refusingDuplicates(write, { sla_policies_name_key: { name: 'errors.name_taken' } });
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === '23503') {
      const constraint = 'constraint' in error ? String(error.constraint) : '';
      throw new FormError({ [foreignKeyFields[constraint] ?? '_form']: 'errors.invalid' });
    }
    throw error;
  }
}

async function policyColumns(db: Db, input: PolicyInput) {
  let customerId: number | null = null;
  if (input.customerNumber) {
    const customer = await findCustomerByNumber(db, input.customerNumber);
    if (!customer) throw new FormError({ customer: 'errors.sla.customer_unknown' });
    customerId = customer.id;
  }
  return {
    name: input.name,
    active: input.active,
    customer_id: customerId,
    priority_id: input.priorityId,
    case_type_id: input.caseTypeId,
    calendar_id: input.calendarId,
    first_response_minutes: input.firstResponseMinutes,
    next_response_minutes: input.nextResponseMinutes,
    resolution_minutes: input.resolutionMinutes,
    pause_while_waiting: input.pauseWhileWaiting,
    warn_percent: input.warnPercent,
    escalation_user_id: input.escalationUserId,
  };
}

// A new policy goes last: it never takes cases from the policies already in place.
export async function createPolicy(db: Db, input: PolicyInput): Promise<number> {
  const columns = await policyColumns(db, input);
  const row = await refusingBadReferences(() =>
    db.transaction().execute(async (trx) => {
      // two administrators saving at once would both take max + 1; the lock (which readers
      // pass) makes the second wait for the first
      await sql`lock table sla_policies in exclusive mode`.execute(trx);
      return trx
        .insertInto('sla_policies')
        .values({
          ...columns,
          position: sql<number>`(select coalesce(max(position), 0) + 1 from sla_policies)`,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    }),
  );
  tablesChanged(db, 'sla_policies');
  return row.id;
}

// loadedAt: when the form was opened (see StaleSaveError).
export async function updatePolicy(db: Db, id: number, input: PolicyInput, loadedAt?: Date): Promise<boolean> {
  const columns = await policyColumns(db, input);
  const result = await refusingBadReferences(() => {
    let update = db
      .updateTable('sla_policies')
      .set({ ...columns, updated_at: new Date() })
      .where('id', '=', id);
    if (loadedAt) update = update.where(unchangedSince(loadedAt));
    return update.executeTakeFirst();
  });
  tablesChanged(db, 'sla_policies');
  if (result.numUpdatedRows > 0n) return true;
  return refuseIfSavedSince(db, 'sla_policies', id, 'sla.policies.stale');
}

// Cases that ran by the policy keep their clocks' history; their sla_policy_id is set to null
// by its foreign key, and their next lifecycle event looks for a policy again.
export async function deletePolicy(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('sla_policies').where('id', '=', id).executeTakeFirst();
  tablesChanged(db, 'sla_policies');
  return result.numDeletedRows > 0n;
}

// Swaps a policy with its neighbour above or below (the unique position is checked at commit,
// which the swap needs).
export async function movePolicy(db: Db, id: number, direction: 'up' | 'down'): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // as in createPolicy: one change of the order at a time; the swap then cannot meet another
    await sql`lock table sla_policies in exclusive mode`.execute(trx);
    const policy = await trx
      .selectFrom('sla_policies')
      .select(['id', 'position'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!policy) return;
    const neighbour = await trx
      .selectFrom('sla_policies')
      .select(['id', 'position'])
      .where('position', direction === 'up' ? '<' : '>', policy.position)
      .orderBy('position', direction === 'up' ? 'desc' : 'asc')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
    if (!neighbour) return;
    await trx.updateTable('sla_policies').set({ position: neighbour.position }).where('id', '=', policy.id).execute();
    await trx.updateTable('sla_policies').set({ position: policy.position }).where('id', '=', neighbour.id).execute();
  });
  tablesChanged(db, 'sla_policies');
}

export const moveSchema = z.object({ direction: z.enum(['up', 'down'], 'errors.invalid') });

// ---- saves from a form opened before someone else's save

// The calendar and policy edit forms carry when they were opened (the row's updated_at then) in
// loaded_at. A save after someone else's save of the same row (another tab, another admin) is
// refused rather than silently undoing theirs: the route shows the form again with what was typed
// and the row's new updated_at, so saving again replaces theirs.
export class StaleSaveError extends FormError {}

// (a declaration, not a const: newCalendarValues calls calendarFormValues as the module loads)
export function loadedAtValue(updatedAt: Date): string {
  return updatedAt.toISOString();
}

// A save that does not say when its form was opened (missing, garbled or repeated: a script, a
// form from before loaded_at) could undo a colleague's save unseen: it is refused as stale is, and
// the form shown again carries loaded_at, so saving again stores it.
const loadedSchema = z.object({ loaded_at: z.iso.datetime() });
export function loadedAtOf(body: unknown): Date {
  const loaded = parseForm(loadedSchema, body);
  if (!loaded.ok) throw new StaleSaveError({ _form: 'sla.form_not_opened' });
  return new Date(loaded.data.loaded_at);
}

// updated_at is stored to the microsecond and read back (into loaded_at) to the millisecond.
function unchangedSince(loadedAt: Date) {
  return sql<boolean>`date_trunc('milliseconds', updated_at) = ${loadedAt}`;
}

// After an update that matched no row: gone (false, the route's 404), or saved since (refused).
async function refuseIfSavedSince(
  db: Db,
  table: 'business_calendars' | 'sla_policies',
  id: number,
  message: 'sla.calendars.stale' | 'sla.policies.stale',
): Promise<false> {
  const exists = await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
  if (exists) throw new StaleSaveError({ _form: message });
  return false;
}
