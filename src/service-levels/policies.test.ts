import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { changeFeedOf, createDb, type Db } from '../db/database.ts';
import { parseForm } from '../forms/form.ts';
import { createTestDatabase } from '../test-support/database.ts';
import {
  type CalendarInput,
  calendarSchema,
  createCalendar,
  createPolicy,
  movePolicy,
  type PolicyInput,
  parseClockTime,
  policySchema,
  timeZones,
  updateCalendar,
  updatePolicy,
} from './policies.ts';
import { findSlaPolicy, type HolidayDates, loadCalendar, loadSlaPolicy } from './queries.ts';

// ---- the forms' checks, without a database

const forms = suite('Business hours and policy forms: what they accept and refuse');

const weekdayFields = (overrides: Record<string, string> = {}) => {
  const form: Record<string, string> = { name: 'K', time_zone: 'Europe/Stockholm' };
  for (const day of ['mon', 'tue', 'wed', 'thu', 'fri']) {
    form[`${day}_opens`] = '08:00';
    form[`${day}_closes`] = '17:00';
  }
  form.sat_closed = 'on';
  form.sun_closed = 'on';
  return { ...form, ...overrides };
};

forms('clock times: HH:MM, 24:00 only as a whole hour, nothing else', () => {
  assert.is(parseClockTime('08:30'), 510);
  assert.is(parseClockTime('00:00'), 0);
  assert.is(parseClockTime('23:59'), 1439);
  assert.is(parseClockTime('24:00'), 1440);
  assert.is(parseClockTime('08:30:00'), 510);
  for (const bad of ['24:01', '25:00', '8:30', '08:60', '-1:00', '08:30:15', '', 'noon']) {
    assert.is(parseClockTime(bad), null, bad);
  }
});

forms('a week with a break becomes two spans; a closed day none; 00:00–00:00 is all day', () => {
  const parsed = parseForm(
    calendarSchema,
    weekdayFields({ mon_break_from: '12:00', mon_break_to: '12:45', tue_opens: '00:00', tue_closes: '00:00' }),
  );
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  const week = (parsed as { data: CalendarInput }).data.week;
  assert.equal(week[0], [
    [480, 720],
    [765, 1020],
  ]);
  assert.equal(week[1], [[0, 1440]]);
  assert.equal(week[5], []);
  assert.equal(week[6], []);
});

forms('a week closed every day is refused: it has no business time for a deadline to fall in', () => {
  const closedWeek: Record<string, string> = { name: 'Aldrig', time_zone: 'Europe/Stockholm' };
  for (const day of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) closedWeek[`${day}_closed`] = 'on';
  const parsed = parseForm(calendarSchema, closedWeek);
  assert.not.ok(parsed.ok);
  assert.equal((parsed as { errors: Record<string, string> }).errors, { mon_opens: 'errors.sla.never_open' });
});

forms('close before open, an inverted or outside break and half a break are refused by their fields', () => {
  const parsed = parseForm(
    calendarSchema,
    weekdayFields({
      mon_closes: '08:00',
      tue_break_from: '14:00',
      tue_break_to: '13:00',
      wed_break_from: '16:00',
      wed_break_to: '18:00',
      thu_break_from: '12:00',
      fri_opens: '',
    }),
  );
  assert.not.ok(parsed.ok);
  assert.equal((parsed as { errors: Record<string, string> }).errors, {
    mon_closes: 'errors.sla.close_before_open',
    tue_break_to: 'errors.sla.break_end_before_start',
    wed_break_from: 'errors.sla.break_outside',
    thu_break_to: 'errors.sla.break_both',
    fri_opens: 'errors.required',
  });
});

forms('a time zone must be one of the IANA zones the form offers, as Intl spells it', () => {
  for (const zone of ['Europe/Stockholm', 'UTC', 'America/New_York', 'Pacific/Chatham', 'Australia/Eucla']) {
    assert.ok(parseForm(calendarSchema, weekdayFields({ time_zone: zone })).ok, zone);
  }
  assert.ok(timeZones.length > 400, 'every zone, not a short list');
  for (const zone of Intl.supportedValuesOf('timeZone')) assert.ok(timeZones.includes(zone), zone);
  // Intl's DateTimeFormat takes 'utc' and 'Etc/UTC' (as UTC), yet neither is the list's spelling
  for (const zone of ['+01:00', 'utc', 'Etc/UTC', 'Mars/Olympus', 'europe/stockholm', '', 'Europe/Stockholm/x']) {
    const parsed = parseForm(calendarSchema, weekdayFields({ time_zone: zone }));
    assert.not.ok(parsed.ok, zone);
  }
});

forms('a policy must have at least one target; one is enough', () => {
  const base = { name: 'P', calendar_id: '1', warn_percent: '75' };
  const none = parseForm(policySchema, { ...base, first_response_hours: '', resolution_minutes: '' });
  assert.not.ok(none.ok);
  assert.equal((none as { errors: Record<string, string> }).errors, { targets: 'errors.sla.no_target' });
  for (const field of ['first_response_hours', 'next_response_minutes', 'resolution_hours']) {
    assert.ok(parseForm(policySchema, { ...base, [field]: '5' }).ok, field);
  }
  // a target that did not parse is its own error, not also "no target"
  const bad = parseForm(policySchema, { ...base, resolution_hours: 'x' });
  assert.equal((bad as { errors: Record<string, string> }).errors, { resolution_hours: 'errors.sla.whole_minutes' });
});

forms('policy targets: hours and minutes make minutes, both empty is none, zero and negatives are refused', () => {
  const ok = parseForm(policySchema, {
    name: 'P',
    calendar_id: '1',
    warn_percent: '75',
    first_response_hours: '2',
    next_response_minutes: '30',
    resolution_hours: '40',
    resolution_minutes: '15',
  });
  assert.ok(ok.ok);
  const data = (ok as { data: PolicyInput }).data;
  assert.is(data.firstResponseMinutes, 120);
  assert.is(data.nextResponseMinutes, 30);
  assert.is(data.resolutionMinutes, 2415);
  assert.is(data.pauseWhileWaiting, false, 'an unticked box is false');
  const bad = parseForm(policySchema, {
    name: 'P',
    calendar_id: '',
    warn_percent: '0',
    first_response_hours: '0',
    next_response_hours: '-1',
    resolution_minutes: '60',
  });
  assert.not.ok(bad.ok);
  assert.equal((bad as { errors: Record<string, string> }).errors, {
    calendar_id: 'errors.required',
    warn_percent: 'errors.sla.warn_percent',
    first_response_hours: 'errors.sla.target_zero',
    next_response_hours: 'errors.sla.whole_minutes',
    resolution_minutes: 'errors.sla.minutes_too_large',
  });
});

forms.run();

// ---- matching, on a real database

const ctx = {} as { db: Db; url: string; drop: () => Promise<void>; calendarId: number; other: Db };
const matching = suite('findSlaPolicy: the first active policy by position whose set conditions all match');

// A stand-in for holidays.ts: records what it was asked, answers one holiday and, with eves, one eve per year.
const asked: string[] = [];
const holidays: HolidayDates = (fromYear, toYear, eves) => {
  asked.push(`${fromYear}-${toYear}-${eves}`);
  const dates: string[] = [];
  for (let year = fromYear; year <= toYear; year++) {
    dates.push(`${year}-12-25`);
    if (eves) dates.push(`${year}-12-24`);
  }
  return dates;
};
const now = new Date('2026-12-04T12:00:00Z');

const calendarInput = (name: string, overrides: Partial<CalendarInput> = {}): CalendarInput => ({
  name,
  timeZone: 'Europe/Stockholm',
  week: [[[480, 1020]], [[480, 1020]], [[480, 1020]], [[480, 1020]], [[480, 1020]], [], []],
  swedishHolidays: true,
  closedEves: true,
  ...overrides,
});

const policyInput = (name: string, overrides: Partial<PolicyInput> = {}): PolicyInput => ({
  name,
  active: true,
  customerNumber: null,
  priorityId: null,
  caseTypeId: null,
  calendarId: ctx.calendarId,
  firstResponseMinutes: 60,
  nextResponseMinutes: null,
  resolutionMinutes: null,
  pauseWhileWaiting: true,
  warnPercent: 75,
  escalationUserId: null,
  ...overrides,
});

matching.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop });
  ctx.other = createDb(t.url, 2);
  ctx.calendarId = await createCalendar(ctx.db, calendarInput('Kontor'));
});
matching.after(async () => {
  await ctx.other.destroy();
  await ctx.drop();
});

let made: Awaited<ReturnType<typeof makeIds>> | undefined;
const ids = async () => {
  made ??= await makeIds();
  return made;
};
async function makeIds() {
  const [priorities, types] = await Promise.all([
    ctx.db.selectFrom('priorities').select('id').orderBy('rank').execute(),
    ctx.db.selectFrom('case_types').select('id').orderBy('id').execute(),
  ]);
  const customers = await ctx.db
    .insertInto('customers')
    .values([
      { number: 'M1', name: 'Matcha Ett' },
      { number: 'M2', name: 'Matcha Två' },
    ])
    .returning('id')
    .execute();
  const [high, low] = priorities.map((p) => p.id) as [number, number];
  const [support, other] = types.map((t) => t.id) as [number, number];
  const [acme, beta] = customers.map((c) => c.id) as [number, number];
  return { high, low, support, other, acme, beta };
}

matching('none matches while there are no policies', async () => {
  assert.is(await findSlaPolicy(ctx.db, { customerId: null, priorityId: null, caseTypeId: null }, holidays, now), null);
});

matching('first match wins, an empty condition is any, a set one must equal, inactive ones are skipped', async () => {
  const { high, low, support, other, acme, beta } = await ids();
  const acmeHigh = await createPolicy(ctx.db, policyInput('Acme hög', { customerNumber: 'M1', priorityId: high }));
  const inactive = await createPolicy(ctx.db, policyInput('Vilande', { active: false }));
  const supportType = await createPolicy(ctx.db, policyInput('Support', { caseTypeId: support }));
  const catchAll = await createPolicy(ctx.db, policyInput('Övriga', { escalationUserId: null }));

  const find = (customerId: number | null, priorityId: number | null, caseTypeId: number | null) =>
    findSlaPolicy(ctx.db, { customerId, priorityId, caseTypeId }, holidays, now).then((m) => m?.policyId ?? null);
  assert.is(await find(acme, high, support), acmeHigh, 'all conditions match: the first wins');
  assert.is(await find(acme, low, support), supportType, 'the priority differs: on to the next');
  assert.is(await find(beta, high, support), supportType, 'another customer');
  assert.is(await find(null, high, support), supportType, 'a case without a customer never matches a customer');
  assert.is(await find(acme, high, other), acmeHigh);
  assert.is(await find(beta, low, other), catchAll, 'the inactive policy before it is skipped');
  assert.is(await find(null, null, null), catchAll);
  assert.not.equal(await find(null, null, null), inactive);

  const match = await findSlaPolicy(ctx.db, { customerId: acme, priorityId: high, caseTypeId: null }, holidays, now);
  assert.equal(match?.targets, {
    firstResponseMinutes: 60,
    nextResponseMinutes: null,
    resolutionMinutes: null,
    pauseWhileWaiting: true,
    warnPercent: 75,
  });
  assert.is(match?.escalationUserId, null);
  assert.is(match?.calendar.timeZone, 'Europe/Stockholm');
  assert.equal(match?.calendar.week[0], [[480, 1020]]);
});

matching('moving a policy up changes which matches first', async () => {
  const { support } = await ids();
  const before = await findSlaPolicy(
    ctx.db,
    { customerId: null, priorityId: null, caseTypeId: support },
    holidays,
    now,
  );
  const catchAll = await ctx.db
    .selectFrom('sla_policies')
    .select('id')
    .where('name', '=', 'Övriga')
    .executeTakeFirstOrThrow();
  assert.is.not(before?.policyId, catchAll.id);
  await movePolicy(ctx.db, catchAll.id, 'up');
  await movePolicy(ctx.db, catchAll.id, 'up');
  await movePolicy(ctx.db, catchAll.id, 'up');
  await movePolicy(ctx.db, catchAll.id, 'up'); // already first: nothing happens
  const after = await findSlaPolicy(ctx.db, { customerId: null, priorityId: null, caseTypeId: support }, holidays, now);
  assert.is(after?.policyId, catchAll.id);
  const positions = await ctx.db.selectFrom('sla_policies').select('position').orderBy('position').execute();
  assert.is(new Set(positions.map((p) => p.position)).size, positions.length, 'positions stay distinct');
  // back last, for the tests after this one
  for (let i = 0; i < 4; i++) await movePolicy(ctx.db, catchAll.id, 'down');
});

matching(
  "the calendar's closed dates: holidays for last year to two years ahead, with eves as set, and added days",
  async () => {
    await ctx.db
      .insertInto('business_calendar_closed_days')
      .values({ calendar_id: ctx.calendarId, date: '2026-06-05', note: 'Flytt' })
      .execute();
    asked.length = 0;
    // a source not asked before (answers are kept per source and years)
    const source: HolidayDates = (...args) => holidays(...args);
    const calendar = await loadCalendar(ctx.db, ctx.calendarId, source, now);
    assert.ok(calendar);
    assert.equal(asked, ['2025-2028-true']);
    await loadCalendar(ctx.db, ctx.calendarId, source, now);
    assert.equal(asked, ['2025-2028-true'], 'asked once, then kept');
    for (const date of ['2025-12-24', '2025-12-25', '2028-12-24', '2028-12-25', '2026-06-05']) {
      assert.ok(calendar.closedDates.has(date), date);
    }
    assert.not.ok(calendar.closedDates.has('2024-12-25'));
    assert.not.ok(calendar.closedDates.has('2029-12-25'));

    await updateCalendar(ctx.db, ctx.calendarId, calendarInput('Kontor', { closedEves: false }));
    const noEves = await loadCalendar(ctx.db, ctx.calendarId, holidays, now);
    assert.ok(noEves?.closedDates.has('2026-12-25'));
    assert.not.ok(noEves?.closedDates.has('2026-12-24'), 'the eves are open');

    await updateCalendar(ctx.db, ctx.calendarId, calendarInput('Kontor', { swedishHolidays: false }));
    const none = await loadCalendar(ctx.db, ctx.calendarId, holidays, now);
    assert.equal([...(none?.closedDates ?? [])], ['2026-06-05'], 'only the added day');
    await updateCalendar(ctx.db, ctx.calendarId, calendarInput('Kontor'));

    assert.is(await loadCalendar(ctx.db, 999_999, holidays, now), null);
  },
);

matching('loadSlaPolicy gives a policy by id, inactive too, as findSlaPolicy would', async () => {
  const inactive = await ctx.db
    .selectFrom('sla_policies')
    .select('id')
    .where('name', '=', 'Vilande')
    .executeTakeFirstOrThrow();
  const match = await loadSlaPolicy(ctx.db, inactive.id, holidays, now);
  assert.is(match?.policyId, inactive.id);
  assert.ok(match?.calendar.closedDates.has('2026-12-25'));
  assert.is(await loadSlaPolicy(ctx.db, 999_999, holidays, now), null);
});

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`${what} within 3 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

matching('the policies are kept in memory, and an edit here or on another instance is seen at once', async () => {
  const facts = { customerId: null, priorityId: null, caseTypeId: null };
  await findSlaPolicy(ctx.db, facts, holidays, now);
  await waitFor(async () => changeFeedOf(ctx.db)?.connected === true, 'the change feed listens');

  // served from memory: a change that bypasses the triggers is not seen...
  const catchAll = await ctx.db
    .selectFrom('sla_policies')
    .select('id')
    .where('name', '=', 'Övriga')
    .executeTakeFirstOrThrow();
  // every change the earlier tests committed has been heard, so none drops the cache below
  await changeFeedOf(ctx.db)?.sync();
  const first = await findSlaPolicy(ctx.db, facts, holidays, now);
  assert.is(first?.targets.firstResponseMinutes, 60);
  // (the replica role turns the change triggers off, on this one connection only)
  await ctx.other.connection().execute(async (conn) => {
    await sql`set session_replication_role = replica`.execute(conn);
    await sql`update sla_policies set first_response_minutes = 61 where id = ${catchAll.id}`.execute(conn);
    await sql`set session_replication_role = origin`.execute(conn);
  });
  const cached = await findSlaPolicy(ctx.db, facts, holidays, now);
  assert.is(cached?.targets.firstResponseMinutes, 60, 'read from memory, not from the database');

  // ...an edit through policies.ts is seen on the very next call
  await updatePolicy(ctx.db, catchAll.id, policyInput('Övriga', { firstResponseMinutes: 90 }));
  assert.is((await findSlaPolicy(ctx.db, facts, holidays, now))?.targets.firstResponseMinutes, 90);

  // ...and one by another instance within moments, by its change notification
  await ctx.other.updateTable('sla_policies').set({ active: false }).where('id', '=', catchAll.id).execute();
  await waitFor(
    async () => (await findSlaPolicy(ctx.db, facts, holidays, now))?.policyId !== catchAll.id,
    'the other instance’s deactivation is seen',
  );
  // a closed day added elsewhere reaches the calendar too
  await ctx.other
    .insertInto('business_calendar_closed_days')
    .values({ calendar_id: ctx.calendarId, date: '2026-08-14', note: '' })
    .execute();
  await waitFor(
    async () => (await loadCalendar(ctx.db, ctx.calendarId, holidays, now))?.closedDates.has('2026-08-14') === true,
    'the other instance’s closed day is seen',
  );
});

matching('a calendar handed out cannot change what the next caller gets', async () => {
  const a = await loadCalendar(ctx.db, ctx.calendarId, holidays, now);
  assert.ok(a);
  assert.throws(() => (a.closedDates as Set<string>).add('2030-01-01'));
  assert.throws(() => a.week[0]?.push([1100, 1200]));
  const b = await loadCalendar(ctx.db, ctx.calendarId, holidays, now);
  assert.not.ok(b?.closedDates.has('2030-01-01'));
  assert.equal(b?.week[0], [[480, 1020]]);
});

matching.run();
