import { createCase, type NewCaseInput } from '../cases/cases.ts';
import { createContact, createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { addClosedDay, createCalendar, createPolicy, type PolicyInput } from '../service-levels/policies.ts';

// "acme": the customer Acme AB (K1001, acme.se) with the contact Per Persson.
export async function seedAcme(db: Db) {
  const customer = await createCustomer(db, { number: 'K1001', name: 'Acme AB', email_domains: ['acme.se'] });
  const contact = await createContact(db, customer.id, {
    name: 'Per Persson',
    email: 'per@acme.se',
    phone: '08-123 45 67',
  });
  return { customer, contact };
}

// "printer-jam": an open support case for Acme, responsible = the given user; `also` changes
// what else a test needs (a title, a typed-in contact, the first text).
export async function seedPrinterJamCase(
  db: Db,
  responsible: User,
  customerId: number,
  contactId?: number,
  also: Partial<NewCaseInput> = {},
): Promise<Case> {
  const status = await db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', 'open')
    .orderBy('position')
    .executeTakeFirstOrThrow();
  const type = await db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  return createCase(
    db,
    {
      title: 'Skrivaren fastnar',
      responsible_id: responsible.id,
      customer_id: customerId,
      status_id: status.id,
      case_type_id: type.id,
      priority_id: null,
      due_date: null,
      contact_id: contactId ?? null,
      contact_name: null,
      contact_email: null,
      contact_phone: null,
      body_html: '<div>Pappret fastnar i fack 2.</div>',
      ...also,
    },
    responsible,
  );
}

// "office-hours": the calendar Kontorstid (weekdays 08:00–17:00 with lunch, Swedish holidays,
// one added closed day) and the policy Hög prioritet (the most urgent priority, 2 business hours
// to a first response) that uses it.
export async function seedOfficeHours(db: Db) {
  const calendarId = await createCalendar(db, {
    name: 'Kontorstid',
    timeZone: 'Europe/Stockholm',
    week: [1, 2, 3, 4, 5, 6, 7].map((day): [number, number][] =>
      day <= 5
        ? [
            [480, 720],
            [780, 1020],
          ]
        : [],
    ),
    swedishHolidays: true,
    closedEves: true,
  });
  await addClosedDay(db, calendarId, { date: '2026-06-05', note: 'Flytt' });
  const priority = await db.selectFrom('priorities').select('id').orderBy('rank').executeTakeFirstOrThrow();
  const policyId = await createPolicy(db, {
    name: 'Hög prioritet',
    active: true,
    customerNumber: null,
    priorityId: priority.id,
    caseTypeId: null,
    calendarId,
    firstResponseMinutes: 120,
    nextResponseMinutes: null,
    resolutionMinutes: null,
    pauseWhileWaiting: true,
    warnPercent: 75,
    escalationUserId: null,
  });
  const closedDay = await db
    .selectFrom('business_calendar_closed_days')
    .select('id')
    .where('calendar_id', '=', calendarId)
    .executeTakeFirstOrThrow();
  return { calendarId, policyId, closedDayId: closedDay.id };
}

// "all-hours": a calendar open round the clock, so a deadline is a plain wall-clock sum, with one
// policy for every case (first response 1 h, next 30 min, resolution 10 h, pausing while waiting);
// `also` changes the policy. slaPolicyInput gives more policies on the same calendar.
export const slaPolicyInput = (calendarId: number, also: Partial<PolicyInput> = {}): PolicyInput => ({
  name: 'Alla',
  active: true,
  customerNumber: null,
  priorityId: null,
  caseTypeId: null,
  calendarId,
  firstResponseMinutes: 60,
  nextResponseMinutes: 30,
  resolutionMinutes: 600,
  pauseWhileWaiting: true,
  warnPercent: 75,
  escalationUserId: null,
  ...also,
});

export async function seedAllHoursPolicy(db: Db, also: Partial<PolicyInput> = {}, calendarName = 'Dygnet runt') {
  const calendarId = await createCalendar(db, {
    name: calendarName,
    timeZone: 'Europe/Stockholm',
    week: Array.from({ length: 7 }, (): [number, number][] => [[0, 1440]]),
    swedishHolidays: false,
    closedEves: false,
  });
  const policyId = await createPolicy(db, slaPolicyInput(calendarId, also));
  return { calendarId, policyId };
}
