import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { replayUnfinishedCaseClocks } from '../cases/case-clock.ts';
import { type FieldErrors, FormError, parseForm, parseId, typedValues } from '../forms/form.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import {
  addClosedDay,
  calendarFormValues,
  calendarSchema,
  closedDaySchema,
  createCalendar,
  createPolicy,
  deleteCalendar,
  deletePolicy,
  formatClockTime,
  loadedAtOf,
  loadedAtValue,
  movePolicy,
  moveSchema,
  newCalendarValues,
  newPolicyValues,
  policyFormValues,
  policySchema,
  removeClosedDay,
  StaleSaveError,
  slaTargets,
  timeZones,
  updateCalendar,
  updatePolicy,
  weekdays,
} from './policies.ts';
import {
  type CalendarRow,
  findCalendar,
  findPolicy,
  listCalendars,
  listClosedDays,
  listPolicies,
  listPoliciesUsingCalendar,
  loadPolicyFormOptions,
  type PolicyWithCustomer,
} from './queries.ts';
import { neverUsedPolicies } from './shadowing.ts';

// Administration → Business hours and → Service levels (issue 17). Under the administration's
// gate (src/admin/routes.ts): every route here is for administrators only, and every POST passes
// the CSRF check of the app's plugin.

type Params = { id: string };
type DayParams = { id: string; dayId: string };
type Values = Record<string, string | undefined>;

// A week as one line for the list: "Mon 08:00–12:00, 13:00–17:00 · Sat closed".
function weekSummary(week: [number, number][][], dayName: (day: string) => string, closed: string): string {
  return weekdays
    .map((day, i) => {
      const spans = week[i] ?? [];
      const hours = spans.length
        ? spans.map(([open, close]) => `${formatClockTime(open)}–${formatClockTime(close)}`).join(', ')
        : closed;
      return `${dayName(day)} ${hours}`;
    })
    .join(' · ');
}

// The public holidays (and with eves, the eves) of the years fromYear..toYear, each with its name
// in both languages of the UI (holidays.ts swedishHolidayList; tests pass their own).
export type HolidayNames = (
  fromYear: number,
  toYear: number,
  eves: boolean,
) => readonly { date: string; sv: string; en: string }[];

// holidays: where the page takes the public holidays it lists for this year and the next, so an
// administrator sees which days the calendar closes, and why. Not given: the list is left out.
export type BusinessHoursOptions = { holidays?: HolidayNames };

// A holiday's name as the start of a list row: date-holidays writes the Swedish ones as in running
// text ("juldagen"), which a row starts with a capital ("Juldagen").
const capitalised = (name: string): string => name.charAt(0).toLocaleUpperCase('sv') + name.slice(1);

export async function registerBusinessHoursRoutes(app: FastifyInstance, opts: BusinessHoursOptions): Promise<void> {
  const { db } = app.deps;
  const { holidays } = opts;
  const base = '/admin/business-hours';

  async function loadCalendarRow(request: FastifyRequest<{ Params: Params }>): Promise<CalendarRow> {
    const id = parseId(request.params.id);
    const calendar = id === null ? undefined : await findCalendar(db, id);
    if (!calendar) throw notFound();
    return calendar;
  }

  async function showForm(
    reply: FastifyReply,
    data: { calendar?: CalendarRow; values: Values; errors: FieldErrors; dayValues?: Values; dayErrors?: FieldErrors },
    status = 200,
  ) {
    const { calendar } = data;
    const [closedDays, usedBy] = calendar
      ? await Promise.all([listClosedDays(db, calendar.id), listPoliciesUsingCalendar(db, calendar.id)])
      : [[], []];
    const year = new Date().getUTCFullYear();
    const holidayDays =
      calendar?.swedish_holidays && holidays
        ? [...holidays(year, year + 1, calendar.closed_eves)]
            .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
            .map((day) => ({ date: day.date, name: capitalised(reply.request.lang === 'en' ? day.en : day.sv) }))
        : null;
    // a zone stored before the list was checked (by a script) is shown, so the select does not
    // silently show another; saving it asks for one from the list
    const zone = calendar?.time_zone;
    const offered = zone && !timeZones.includes(zone) ? [zone, ...timeZones] : timeZones;
    return reply.code(status).view('admin/business-hours/form', {
      values: data.values,
      errors: data.errors,
      dayValues: data.dayValues ?? {},
      dayErrors: data.dayErrors ?? {},
      weekdays,
      timeZones: offered,
      closedDays,
      holidayDays,
      usedBy,
      calendarId: calendar?.id ?? null,
      calendarName: calendar?.name ?? null,
      action: calendar ? `${base}/${calendar.id}` : base,
    });
  }

  async function save(request: FastifyRequest, reply: FastifyReply, calendar?: CalendarRow) {
    const values = typedValues(request.body);
    const form = parseForm(calendarSchema, request.body);
    if (!form.ok) return showForm(reply, { calendar, values, errors: form.errors }, 422);
    try {
      const id = calendar ? calendar.id : await createCalendar(db, form.data);
      if (calendar && !(await updateCalendar(db, calendar.id, form.data, loadedAtOf(request.body)))) throw notFound();
      if (calendar) await replayUnfinishedCaseClocks(db);
      return redirectAfterPost(request, reply, `${base}/${id}`, request.t('common.saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      // saved by someone else since: what this user typed stays, and a second save replaces theirs
      if (calendar && error instanceof StaleSaveError) {
        const fresh = (await findCalendar(db, calendar.id)) ?? calendar;
        const loaded_at = loadedAtValue(fresh.updated_at);
        return showForm(reply, { calendar: fresh, values: { ...values, loaded_at }, errors: error.fields }, 409);
      }
      return showForm(reply, { calendar, values, errors: error.fields }, 422);
    }
  }

  app.get('/', async (request, reply) => {
    const calendars = await listCalendars(db);
    const dayName = (day: string) => request.t(`sla.day.${day}` as 'sla.day.mon').slice(0, 3);
    return reply.view('admin/business-hours/index', {
      calendars: calendars.map((calendar) => ({
        ...calendar,
        summary: weekSummary(calendar.week, dayName, request.t('sla.calendars.closed')),
      })),
    });
  });

  app.get('/new', async (_request, reply) => showForm(reply, { values: { ...newCalendarValues }, errors: {} }));
  app.post('/', async (request, reply) => save(request, reply));

  app.get<{ Params: Params }>('/:id', async (request, reply) => {
    const calendar = await loadCalendarRow(request);
    return showForm(reply, { calendar, values: calendarFormValues(calendar), errors: {} });
  });
  app.post<{ Params: Params }>('/:id', async (request, reply) => save(request, reply, await loadCalendarRow(request)));

  app.post<{ Params: Params }>('/:id/deletion', async (request, reply) => {
    const calendar = await loadCalendarRow(request);
    try {
      await deleteCalendar(db, calendar.id);
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showForm(reply, { calendar, values: calendarFormValues(calendar), errors: error.fields }, 409);
    }
    return redirectAfterPost(request, reply, base, request.t('sla.calendars.deleted'));
  });

  // Closed days are a sub-resource of a saved calendar: added and removed one at a time.
  app.post<{ Params: Params }>('/:id/closed-days', async (request, reply) => {
    const calendar = await loadCalendarRow(request);
    const dayValues = typedValues(request.body);
    const show = (dayErrors: FieldErrors) =>
      showForm(reply, { calendar, values: calendarFormValues(calendar), errors: {}, dayValues, dayErrors }, 422);
    const form = parseForm(closedDaySchema, request.body);
    if (!form.ok) return show(form.errors);
    try {
      await addClosedDay(db, calendar.id, form.data);
      await replayUnfinishedCaseClocks(db);
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return show(error.fields);
    }
    return redirectAfterPost(request, reply, `${base}/${calendar.id}`, request.t('sla.calendars.closed_day_added'));
  });

  app.post<{ Params: DayParams }>('/:id/closed-days/:dayId/deletion', async (request, reply) => {
    const calendar = await loadCalendarRow(request);
    const dayId = parseId(request.params.dayId);
    if (dayId === null || !(await removeClosedDay(db, calendar.id, dayId))) throw notFound();
    await replayUnfinishedCaseClocks(db);
    return redirectAfterPost(request, reply, `${base}/${calendar.id}`, request.t('sla.calendars.closed_day_removed'));
  });
}

export async function registerServiceLevelRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;
  const base = '/admin/service-levels';

  async function loadPolicy(request: FastifyRequest<{ Params: Params }>): Promise<PolicyWithCustomer> {
    const id = parseId(request.params.id);
    const policy = id === null ? undefined : await findPolicy(db, id);
    if (!policy) throw notFound();
    return policy;
  }

  async function showForm(
    reply: FastifyReply,
    data: { policy?: PolicyWithCustomer; values: Values; errors: FieldErrors },
    status = 200,
  ) {
    const { policy } = data;
    return reply.code(status).view('admin/service-levels/form', {
      values: data.values,
      errors: data.errors,
      options: await loadPolicyFormOptions(db, policy),
      targets: slaTargets,
      policyId: policy?.id ?? null,
      policyName: policy?.name ?? null,
      customerName: policy?.customer_name ?? null,
      action: policy ? `${base}/${policy.id}` : base,
    });
  }

  async function save(request: FastifyRequest, reply: FastifyReply, policy?: PolicyWithCustomer) {
    const values = typedValues(request.body);
    const form = parseForm(policySchema, request.body);
    if (!form.ok) return showForm(reply, { policy, values, errors: form.errors }, 422);
    try {
      const id = policy ? policy.id : await createPolicy(db, form.data);
      if (policy && !(await updatePolicy(db, policy.id, form.data, loadedAtOf(request.body)))) throw notFound();
      await replayUnfinishedCaseClocks(db);
      return redirectAfterPost(request, reply, `${base}/${id}`, request.t('common.saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      // saved by someone else since: what this user typed stays, and a second save replaces theirs
      if (policy && error instanceof StaleSaveError) {
        const fresh = (await findPolicy(db, policy.id)) ?? policy;
        const loaded_at = loadedAtValue(fresh.updated_at);
        return showForm(reply, { policy: fresh, values: { ...values, loaded_at }, errors: error.fields }, 409);
      }
      return showForm(reply, { policy, values, errors: error.fields }, 422);
    }
  }

  app.get('/', async (_request, reply) => {
    const policies = await listPolicies(db);
    // id → the name of the policy above that always wins over it
    const neverUsed = Object.fromEntries([...neverUsedPolicies(policies)].map(([id, above]) => [id, above.name]));
    return reply.view('admin/service-levels/index', { policies, neverUsed });
  });

  app.get('/new', async (_request, reply) => showForm(reply, { values: { ...newPolicyValues }, errors: {} }));
  app.post('/', async (request, reply) => save(request, reply));

  app.get<{ Params: Params }>('/:id', async (request, reply) => {
    const policy = await loadPolicy(request);
    return showForm(reply, { policy, values: policyFormValues(policy), errors: {} });
  });
  app.post<{ Params: Params }>('/:id', async (request, reply) => save(request, reply, await loadPolicy(request)));

  app.post<{ Params: Params }>('/:id/deletion', async (request, reply) => {
    const policy = await loadPolicy(request);
    await deletePolicy(db, policy.id);
    await replayUnfinishedCaseClocks(db);
    return redirectAfterPost(request, reply, base, request.t('sla.policies.deleted'));
  });

  // The place in the order is a sub-resource: POST direction=up or direction=down.
  app.post<{ Params: Params }>('/:id/position', async (request, reply) => {
    const policy = await loadPolicy(request);
    const form = parseForm(moveSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    await movePolicy(db, policy.id, form.data.direction);
    await replayUnfinishedCaseClocks(db);
    return redirectAfterPost(request, reply, base);
  });
}
