import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { urlencoded } from '../test-support/every-route.ts';
import { registerBusinessHoursRoutes } from './admin-routes.ts';
import { findSlaPolicy } from './queries.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; admin: TestClient; agent: TestClient };
const test = suite('Administration → Business hours and → Service levels');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.app = await buildTestApp(t.db);
  await seedUser(t.db, 'BOSS', 'admin');
  await seedUser(t.db, 'KALLE', 'agent');
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('boss');
  ctx.agent = new TestClient(ctx.app);
  await ctx.agent.login('kalle');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
// A week's fields as the form sends them: weekdays 08:00–17:00 with lunch 12:00–13:00, weekend closed.
function weekForm(overrides: Record<string, string> = {}): Record<string, string> {
  const form: Record<string, string> = {
    name: 'Kontorstid',
    time_zone: 'Europe/Stockholm',
    swedish_holidays: 'on',
    closed_eves: 'on',
  };
  for (const day of days.slice(0, 5)) {
    Object.assign(form, {
      [`${day}_opens`]: '08:00',
      [`${day}_closes`]: '17:00',
      [`${day}_break_from`]: '12:00',
      [`${day}_break_to`]: '13:00',
    });
  }
  form.sat_closed = 'on';
  form.sun_closed = 'on';
  return { ...form, ...overrides };
}

async function createCalendarThroughForm(form: Record<string, string>): Promise<number> {
  await ctx.admin.get('/admin/business-hours/new');
  const res = await ctx.admin.post('/admin/business-hours', form);
  assert.is(res.statusCode, 303, res.body);
  const id = /^\/admin\/business-hours\/(\d+)$/.exec(String(res.headers.location))?.[1];
  assert.ok(id, `redirect to the calendar, got ${res.headers.location}`);
  return Number(id);
}

test('the administration page links to both pages, in Swedish by default', async () => {
  const res = await ctx.admin.get('/admin');
  assert.match(res.body, '<a href="/admin/business-hours">Öppettider</a>');
  assert.match(res.body, '<a href="/admin/service-levels">Servicenivåer</a>');
});

test('a calendar is created with a lunch break and a closed weekend, and its form shows it again', async () => {
  const id = await createCalendarThroughForm(weekForm());
  const row = await ctx.db.selectFrom('business_calendars').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.week[0], [
    [480, 720],
    [780, 1020],
  ]);
  assert.equal(row.week[5], []);
  assert.is(row.time_zone, 'Europe/Stockholm');
  assert.ok(row.swedish_holidays && row.closed_eves);
  const page = await ctx.admin.get(`/admin/business-hours/${id}`);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'name="mon_break_from" value="12:00"');
  assert.match(page.body, /name="sat_closed" value="on" aria-label="Lördag: Stängt" checked/);
  const list = await ctx.admin.get('/admin/business-hours');
  assert.match(list.body, 'Mån 08:00–12:00, 13:00–17:00');
});

test('a new calendar form has the eves closed and Europe/Stockholm chosen by default', async () => {
  const res = await ctx.admin.get('/admin/business-hours/new');
  assert.match(res.body, /id="f-closed_eves" name="closed_eves" value="on" checked/);
  assert.match(res.body, '<option value="Europe/Stockholm" selected>');
});

test('absurd hours are refused beside their fields, with what was typed kept', async () => {
  await ctx.admin.get('/admin/business-hours/new');
  const res = await ctx.admin.post(
    '/admin/business-hours',
    weekForm({
      name: 'Trasig',
      mon_closes: '07:00',
      tue_break_from: '11:00',
      tue_break_to: '10:00',
      wed_break_from: '07:00',
      thu_break_to: '',
      fri_opens: '25:00',
      time_zone: 'Mars/Olympus',
    }),
  );
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Stänger innan den öppnar.');
  assert.match(res.body, 'Rasten slutar innan den börjar.');
  assert.match(res.body, 'Rasten måste ligga inom öppettiden.');
  assert.match(res.body, 'Ange både när rasten börjar och slutar, eller ingetdera.');
  assert.match(res.body, 'Skriv tiden som TT:MM.');
  assert.match(res.body, 'Välj en tidszon i listan.');
  assert.match(res.body, 'name="mon_closes" value="07:00"');
  assert.match(res.body, 'value="Trasig"');
  const stored = await ctx.db.selectFrom('business_calendars').select('id').where('name', '=', 'Trasig').execute();
  assert.is(stored.length, 0);
});

test('a repeated field or a NUL byte is a form error, never a 500', async () => {
  await ctx.admin.get('/admin/business-hours/new');
  const repeated = await ctx.admin.request({
    method: 'POST',
    url: '/admin/business-hours',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: urlencoded([
      ['_csrf', ctx.admin.csrf],
      ...Object.entries(weekForm({ name: 'Dubbel' })),
      ['mon_opens', '09:00'],
    ]),
  });
  assert.is(repeated.statusCode, 422);
  assert.match(repeated.body, 'Fältet kom mer än en gång');
  const nul = await ctx.admin.post('/admin/business-hours', weekForm({ name: 'N\u0000L', tue_opens: '08:\u000000' }));
  assert.is(nul.statusCode, 422);
  await ctx.admin.get('/admin/service-levels/new');
  const minutes = await ctx.admin.post('/admin/service-levels', {
    name: 'Negativ',
    calendar_id: '1',
    warn_percent: '75',
    first_response_hours: '-2',
    next_response_minutes: '75',
  });
  assert.is(minutes.statusCode, 422);
  assert.match(minutes.body, 'Bara heltal.');
  assert.match(minutes.body, 'Högst 59 minuter: hela timmar skrivs under timmar.');
});

test('added closed days: added, refused twice, removed', async () => {
  const id = await createCalendarThroughForm(weekForm({ name: 'Med stängda dagar' }));
  await ctx.admin.get(`/admin/business-hours/${id}`);
  const added = await ctx.admin.post(`/admin/business-hours/${id}/closed-days`, { date: '2026-06-05', note: 'Flytt' });
  assert.is(added.statusCode, 303, added.body);
  const again = await ctx.admin.post(`/admin/business-hours/${id}/closed-days`, { date: '2026-06-05', note: '' });
  assert.is(again.statusCode, 422);
  assert.match(again.body, 'Den dagen är redan stängd.');
  const bad = await ctx.admin.post(`/admin/business-hours/${id}/closed-days`, { date: '2026-02-30' });
  assert.is(bad.statusCode, 422);
  assert.match(bad.body, 'value="2026-02-30"');
  assert.match(bad.body, 'Skriv datumet som ÅÅÅÅ-MM-DD.');
  const far = await ctx.admin.post(`/admin/business-hours/${id}/closed-days`, { date: '9999-01-01' });
  assert.is(far.statusCode, 422);
  assert.match(far.body, 'Välj ett datum från år 2000 till 2200.');
  const page = await ctx.admin.get(`/admin/business-hours/${id}`);
  assert.match(page.body, 'Flytt');
  const day = await ctx.db
    .selectFrom('business_calendar_closed_days')
    .select('id')
    .where('calendar_id', '=', id)
    .executeTakeFirstOrThrow();
  const removed = await ctx.admin.post(`/admin/business-hours/${id}/closed-days/${day.id}/deletion`);
  assert.is(removed.statusCode, 303);
  const left = await ctx.db
    .selectFrom('business_calendar_closed_days')
    .select('id')
    .where('calendar_id', '=', id)
    .execute();
  assert.is(left.length, 0);
});

test('a form shown again with its errors has the bell with its count, as the page it came from', async () => {
  const boss = await ctx.db.selectFrom('users').select('id').where('login', '=', 'BOSS').executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('notifications')
    .values({
      user_id: boss.id,
      actor_id: null,
      kind: 'assigned',
      case_id: null,
      summary: 'Ett ärende',
      link: '/cases',
    })
    .execute();
  try {
    const form = await ctx.admin.get('/admin/business-hours/new');
    assert.match(form.body, 'class="badge">1<');
    const refused = await ctx.admin.post('/admin/business-hours', weekForm({ name: '' }));
    assert.is(refused.statusCode, 422);
    assert.match(refused.body, 'class="badge">1<');
    // htmx gets the form without the page around it, and no count is asked for
    const partial = await ctx.admin.post('/admin/business-hours', weekForm({ name: '' }), { htmx: true });
    assert.not.match(partial.body, 'class="badge"');
  } finally {
    await ctx.db.deleteFrom('notifications').where('user_id', '=', boss.id).execute();
  }
});

test('the list writes each target as the badges do: "3 min", "4 h", "1 h 30 min"', async () => {
  const calendar = await ctx.db.selectFrom('business_calendars').select('id').orderBy('id').executeTakeFirstOrThrow();
  await createPolicyThroughForm({
    name: 'Spannen',
    calendar_id: String(calendar.id),
    warn_percent: '75',
    first_response_minutes: '3',
    next_response_hours: '4',
    resolution_hours: '1',
    resolution_minutes: '30',
  });
  const list = await ctx.admin.get('/admin/service-levels');
  const row = /<td><a href="\/admin\/service-levels\/\d+">Spannen<\/a>[\s\S]*?<\/tr>/.exec(list.body)?.[0] ?? '';
  for (const span of ['<td>3 min</td>', '<td>4 h</td>', '<td>1 h 30 min</td>']) assert.match(row, span);
});

// When the edit form says it was opened (its hidden loaded_at).
const formLoadedAt = (html: string) => /name="loaded_at" value="([^"]+)"/.exec(html)?.[1] ?? '';

test('a save that does not say when its form was opened is refused, what it typed kept, and saving again stores it', async () => {
  const id = await createCalendarThroughForm(weekForm({ name: 'Utan öppningstid' }));
  const opened = formLoadedAt((await ctx.admin.get(`/admin/business-hours/${id}`)).body);
  for (const loaded of [[], ['igår'], [opened, opened]]) {
    const form = new URLSearchParams({ ...weekForm({ name: 'Skript', mon_closes: '16:00' }), _csrf: ctx.admin.csrf });
    for (const value of loaded) form.append('loaded_at', value);
    const refused = await ctx.admin.request({
      method: 'POST',
      url: `/admin/business-hours/${id}`,
      payload: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.is(refused.statusCode, 409, loaded.join());
    assert.match(refused.body, 'Formuläret sa inte när det öppnades');
    assert.match(refused.body, 'value="Skript"');
    const kept = await ctx.db
      .selectFrom('business_calendars')
      .select('name')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.is(kept.name, 'Utan öppningstid', 'nothing saved');
  }
  const shown = await ctx.admin.post(`/admin/business-hours/${id}`, weekForm({ name: 'Skript' }));
  const again = await ctx.admin.post(
    `/admin/business-hours/${id}`,
    weekForm({ name: 'Skript', loaded_at: formLoadedAt(shown.body) }),
  );
  assert.is(again.statusCode, 303, again.body);
  // inactive: the tests below count on the policies they make being the ones that match
  const policy = await createPolicyThroughForm({
    name: 'Utan öppningstid',
    calendar_id: String(id),
    warn_percent: '75',
    first_response_hours: '4',
  });
  const refusedPolicy = await ctx.admin.post(`/admin/service-levels/${policy}`, {
    name: 'Skript',
    calendar_id: String(id),
    warn_percent: '75',
    first_response_hours: '1',
  });
  assert.is(refusedPolicy.statusCode, 409);
  assert.match(refusedPolicy.body, 'Formuläret sa inte när det öppnades');
});

test('two tabs editing one calendar: the later save is refused with what it typed kept, and a second save wins', async () => {
  const id = await createCalendarThroughForm(weekForm({ name: 'Två kalenderflikar' }));
  const loadedAt = formLoadedAt;
  const tab1 = loadedAt((await ctx.admin.get(`/admin/business-hours/${id}`)).body);
  const tab2 = loadedAt((await ctx.admin.get(`/admin/business-hours/${id}`)).body);
  assert.ok(tab1 && tab1 === tab2, 'both tabs carry when they were opened');
  const first = await ctx.admin.post(
    `/admin/business-hours/${id}`,
    weekForm({ name: 'Två kalenderflikar', mon_closes: '16:00', loaded_at: tab1 }),
  );
  assert.is(first.statusCode, 303, first.body);
  const second = await ctx.admin.post(
    `/admin/business-hours/${id}`,
    weekForm({ name: 'Flik två', fri_opens: '09:00', loaded_at: tab2 }),
  );
  assert.is(second.statusCode, 409);
  assert.match(second.body, 'Någon sparade de här öppettiderna efter att du öppnade dem.');
  assert.match(second.body, 'value="Flik två"');
  assert.match(second.body, 'name="fri_opens" value="09:00"');
  assert.match(second.body, 'name="mon_closes" value="17:00"');
  const kept = await ctx.db.selectFrom('business_calendars').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(kept.name, 'Två kalenderflikar');
  assert.equal(kept.week[0], [
    [480, 720],
    [780, 960],
  ]);
  assert.equal(kept.week[4]?.[0], [480, 720]);
  // the refusal carries the row's new "opened at": saving again replaces the first tab's save
  const reloaded = loadedAt(second.body);
  assert.ok(reloaded && reloaded !== tab2);
  const again = await ctx.admin.post(
    `/admin/business-hours/${id}`,
    weekForm({ name: 'Flik två', fri_opens: '09:00', loaded_at: reloaded }),
  );
  assert.is(again.statusCode, 303, again.body);
  const replaced = await ctx.db
    .selectFrom('business_calendars')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  assert.is(replaced.name, 'Flik två');
  assert.equal(replaced.week[0]?.[1], [780, 1020]);
  assert.equal(replaced.week[4]?.[0], [540, 720]);
});

async function createPolicyThroughForm(form: Record<string, string>): Promise<number> {
  await ctx.admin.get('/admin/service-levels/new');
  const res = await ctx.admin.post('/admin/service-levels', form);
  assert.is(res.statusCode, 303, res.body);
  const id = /^\/admin\/service-levels\/(\d+)$/.exec(String(res.headers.location))?.[1];
  assert.ok(id, `redirect to the policy, got ${res.headers.location}`);
  return Number(id);
}

test('a policy is created with targets in hours and minutes, shown again, moved and deleted', async () => {
  const calendarId = await createCalendarThroughForm(weekForm({ name: 'För policyer' }));
  const priority = await ctx.db
    .selectFrom('priorities')
    .select(['id', 'name'])
    .orderBy('rank')
    .executeTakeFirstOrThrow();
  const customer = await ctx.db
    .insertInto('customers')
    .values({ number: 'K100', name: 'Acme AB' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const first = await createPolicyThroughForm({
    name: 'Hög prioritet',
    active: 'on',
    customer: 'K100',
    priority_id: String(priority.id),
    calendar_id: String(calendarId),
    first_response_hours: '2',
    first_response_minutes: '',
    next_response_hours: '',
    next_response_minutes: '45',
    resolution_hours: '',
    resolution_minutes: '',
    pause_while_waiting: 'on',
    warn_percent: '80',
  });
  const row = await ctx.db.selectFrom('sla_policies').selectAll().where('id', '=', first).executeTakeFirstOrThrow();
  assert.is(row.first_response_minutes, 120);
  assert.is(row.next_response_minutes, 45);
  assert.is(row.resolution_minutes, null);
  assert.is(row.customer_id, customer.id);
  assert.is(row.warn_percent, 80);
  const page = await ctx.admin.get(`/admin/service-levels/${first}`);
  assert.match(page.body, 'name="first_response_hours" type="number" value="2"');
  assert.match(page.body, 'name="customer" type="text" value="K100"');

  const second = await createPolicyThroughForm({
    name: 'Övriga',
    calendar_id: String(calendarId),
    warn_percent: '75',
    resolution_hours: '40',
  });
  let list = await ctx.admin.get('/admin/service-levels');
  assert.ok(list.body.indexOf('Hög prioritet') < list.body.indexOf('Övriga'), 'a new policy goes last');
  const moved = await ctx.admin.post(`/admin/service-levels/${second}/position`, { direction: 'up' });
  assert.is(moved.statusCode, 303);
  list = await ctx.admin.get('/admin/service-levels');
  assert.ok(list.body.indexOf('Övriga') < list.body.indexOf('Hög prioritet'), 'moved up');
  const badMove = await ctx.admin.post(`/admin/service-levels/${second}/position`, { direction: 'sideways' });
  assert.is(badMove.statusCode, 422);

  // the calendar is in use: it stays, and the page says why
  await ctx.admin.get(`/admin/business-hours/${calendarId}`);
  const refused = await ctx.admin.post(`/admin/business-hours/${calendarId}/deletion`);
  assert.is(refused.statusCode, 409);
  assert.match(refused.body, 'Servicenivåer använder kalendern');

  await ctx.admin.get(`/admin/service-levels/${first}`);
  const deleted = await ctx.admin.post(`/admin/service-levels/${first}/deletion`);
  assert.is(deleted.statusCode, 303);
  assert.is(deleted.headers.location, '/admin/service-levels');
  assert.not.ok(await ctx.db.selectFrom('sla_policies').select('id').where('id', '=', first).executeTakeFirst());
});

test('a policy form refuses an unknown customer, a zero target and a warning outside 1–99', async () => {
  const calendar = await ctx.db.selectFrom('business_calendars').select('id').orderBy('id').executeTakeFirstOrThrow();
  await ctx.admin.get('/admin/service-levels/new');
  const res = await ctx.admin.post('/admin/service-levels', {
    name: 'Fel',
    customer: 'FINNS-INTE',
    calendar_id: String(calendar.id),
    first_response_hours: '0',
    first_response_minutes: '0',
    warn_percent: '100',
  });
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Ett mål måste vara mer än 0');
  assert.match(res.body, 'Mellan 1 och 99.');
  const unknown = await ctx.admin.post('/admin/service-levels', {
    name: 'Fel',
    customer: 'FINNS-INTE',
    calendar_id: String(calendar.id),
    warn_percent: '75',
    first_response_hours: '1',
  });
  assert.is(unknown.statusCode, 422);
  assert.match(unknown.body, 'Ingen kund har det kundnumret.');
  const gone = await ctx.admin.post('/admin/service-levels', {
    name: 'Fel',
    calendar_id: '999999',
    warn_percent: '75',
    resolution_minutes: '30',
  });
  assert.is(gone.statusCode, 422);
  assert.match(gone.body, 'value="Fel"');
});

test('an edit on the page reaches the matching at once, and htmx gets its redirect as HX-Redirect', async () => {
  const calendar = await ctx.db.selectFrom('business_calendars').select('id').orderBy('id').executeTakeFirstOrThrow();
  const id = await createPolicyThroughForm({
    name: 'Alla ärenden',
    active: 'on',
    calendar_id: String(calendar.id),
    warn_percent: '75',
    first_response_hours: '4',
  });
  const facts = { customerId: null, priorityId: null, caseTypeId: null };
  const noHolidays = () => [];
  assert.is((await findSlaPolicy(ctx.db, facts, noHolidays))?.targets.firstResponseMinutes, 240);
  const opened = formLoadedAt((await ctx.admin.get(`/admin/service-levels/${id}`)).body);
  const res = await ctx.admin.post(
    `/admin/service-levels/${id}`,
    {
      name: 'Alla ärenden',
      active: 'on',
      calendar_id: String(calendar.id),
      warn_percent: '75',
      first_response_hours: '1',
      first_response_minutes: '30',
      loaded_at: opened,
    },
    { htmx: true },
  );
  assert.is(res.statusCode, 204);
  assert.is(res.headers['hx-redirect'], `/admin/service-levels/${id}`);
  assert.is((await findSlaPolicy(ctx.db, facts, noHolidays))?.targets.firstResponseMinutes, 90);
  // unticked on the page: inactive, and no longer matched
  const reopened = formLoadedAt((await ctx.admin.get(`/admin/service-levels/${id}`)).body);
  await ctx.admin.post(`/admin/service-levels/${id}`, {
    name: 'Alla ärenden',
    calendar_id: String(calendar.id),
    warn_percent: '75',
    first_response_hours: '1',
    loaded_at: reopened,
  });
  assert.is.not((await findSlaPolicy(ctx.db, facts, noHolidays))?.policyId, id);
});

test('an agent gets 403 on every page and post, and nothing changes', async () => {
  for (const url of [
    '/admin/business-hours',
    '/admin/business-hours/new',
    '/admin/service-levels',
    '/admin/service-levels/new',
  ]) {
    assert.is((await ctx.agent.get(url)).statusCode, 403, url);
  }
  const before = await ctx.db.selectFrom('business_calendars').select('id').execute();
  assert.is((await ctx.agent.post('/admin/business-hours', weekForm({ name: 'Agentens' }))).statusCode, 403);
  assert.is((await ctx.agent.post('/admin/service-levels', { name: 'Agentens' })).statusCode, 403);
  const after = await ctx.db.selectFrom('business_calendars').select('id').execute();
  assert.is(after.length, before.length);
});

test('a post without the CSRF token is refused', async () => {
  await ctx.admin.get('/admin/business-hours/new');
  const res = await ctx.admin.post('/admin/business-hours', { ...weekForm({ name: 'Utan token' }), _csrf: '' });
  assert.is(res.statusCode, 403);
  const stored = await ctx.db.selectFrom('business_calendars').select('id').where('name', '=', 'Utan token').execute();
  assert.is(stored.length, 0);
});

test("given a holiday source, a calendar's page lists the holidays and eves it closes on", async () => {
  const year = new Date().getUTCFullYear();
  const asked: boolean[] = [];
  const app = await buildTestApp(
    ctx.db,
    {},
    {
      plant: (app) => {
        app.register(registerBusinessHoursRoutes, {
          prefix: '/with-holidays',
          holidays: (from, to, eves) => {
            asked.push(eves);
            return [
              { date: `${to}-12-25`, sv: 'juldagen', en: 'Christmas Day' },
              { date: `${from}-12-25`, sv: 'juldagen', en: 'Christmas Day' },
              ...(eves ? [{ date: `${from}-12-24`, sv: 'julafton', en: 'Christmas Eve' }] : []),
            ];
          },
        });
      },
    },
  );
  try {
    const client = new TestClient(app);
    await client.login('boss');
    const calendar = await ctx.db
      .selectFrom('business_calendars')
      .select('id')
      .where('swedish_holidays', '=', true)
      .where('closed_eves', '=', true)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const res = await client.get(`/with-holidays/${calendar.id}`);
    assert.is(res.statusCode, 200);
    assert.match(res.body, 'Helgdagar och aftnar i år och nästa år');
    // by date, each with its name in the page's language, written to start a row
    const rows = [...res.body.matchAll(/<tr><td>(\d{4}-\d{2}-\d{2})<\/td><td>([^<]*)<\/td><\/tr>/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    assert.equal(rows, [`${year}-12-24 Julafton`, `${year}-12-25 Juldagen`, `${year + 1}-12-25 Juldagen`]);
    assert.equal(asked, [true]);
    // the app as wired lists Sweden's (date-holidays), named
    const wired = (await ctx.admin.get(`/admin/business-hours/${calendar.id}`)).body;
    assert.match(wired, `<tr><td>${year}-12-25</td><td>Juldagen</td></tr>`);
    assert.match(wired, `<tr><td>${year}-12-24</td><td>Julafton</td></tr>`);
    assert.match(wired, /<tr><td>\d{4}-06-\d{2}<\/td><td>Midsommarafton<\/td><\/tr>/);
    // and in English to a user whose language is English
    await seedUser(ctx.db, 'HOLLY', 'admin', { language: 'en' });
    const holly = new TestClient(ctx.app);
    await holly.login('holly');
    const english = (await holly.get(`/admin/business-hours/${calendar.id}`)).body;
    assert.match(english, 'Public holidays and eves this year and next');
    assert.match(english, `<tr><td>${year}-12-25</td><td>Christmas Day</td></tr>`);
    assert.match(english, /<td>Midsummer Eve<\/td>/);
  } finally {
    await app.close();
  }
});

test('English labels', async () => {
  const eva = new TestClient(ctx.app);
  await seedUser(ctx.db, 'EVA', 'admin', { language: 'en' });
  await eva.login('eva');
  const admin = await eva.get('/admin');
  assert.match(admin.body, '<a href="/admin/business-hours">Business hours</a>');
  assert.match(admin.body, '<a href="/admin/service-levels">Service levels</a>');
  const form = await eva.get('/admin/business-hours/new');
  assert.match(form.body, 'Close on Christmas Eve, New Year&#39;s Eve and Midsummer Eve');
  assert.match(form.body, 'aria-label="Monday: Break from"');
  const policy = await eva.get('/admin/service-levels/new');
  assert.match(policy.body, 'Pause while waiting for the customer');
});

test('a policy without any target is refused, in the user’s language, with the rest kept', async () => {
  const calendar = await ctx.db.selectFrom('business_calendars').select('id').orderBy('id').executeTakeFirstOrThrow();
  const form = {
    name: 'Utan mål',
    active: 'on',
    calendar_id: String(calendar.id),
    warn_percent: '60',
    pause_while_waiting: 'on',
    first_response_hours: '',
    first_response_minutes: '',
  };
  await ctx.admin.get('/admin/service-levels/new');
  const res = await ctx.admin.post('/admin/service-levels', form);
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Ange minst ett mål: första svar, nästa svar eller lösning.');
  assert.match(res.body, 'value="Utan mål"');
  assert.match(res.body, 'name="warn_percent" type="number" value="60"');
  assert.match(res.body, `<option value="${calendar.id}" selected>`);
  const stored = await ctx.db.selectFrom('sla_policies').select('id').where('name', '=', 'Utan mål').execute();
  assert.is(stored.length, 0);
  // an existing policy cannot be saved without its targets either
  const id = await createPolicyThroughForm({ ...form, name: 'Med mål', next_response_hours: '8' });
  const edit = await ctx.admin.post(`/admin/service-levels/${id}`, { ...form, name: 'Med mål' });
  assert.is(edit.statusCode, 422);
  assert.match(edit.body, 'Ange minst ett mål');
  const row = await ctx.db.selectFrom('sla_policies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.next_response_minutes, 480);
  // in English for an English user
  await seedUser(ctx.db, 'TARA', 'admin', { language: 'en' });
  const tara = new TestClient(ctx.app);
  await tara.login('tara');
  await tara.get('/admin/service-levels/new');
  const english = await tara.post('/admin/service-levels', form);
  assert.is(english.statusCode, 422);
  assert.match(english.body, 'Set at least one target: first response, next response or resolution.');
});

test('the list warns on a policy that a policy above it always wins over', async () => {
  // only this test's policies take cases
  await ctx.db.updateTable('sla_policies').set({ active: false }).execute();
  const calendar = await ctx.db.selectFrom('business_calendars').select('id').orderBy('id').executeTakeFirstOrThrow();
  const priority = await ctx.db.selectFrom('priorities').select('id').orderBy('rank').executeTakeFirstOrThrow();
  const base = { active: 'on', calendar_id: String(calendar.id), warn_percent: '75', resolution_hours: '8' };
  await createPolicyThroughForm({ ...base, name: 'Acme allt', customer: 'K100' });
  await createPolicyThroughForm({ ...base, name: 'Acme hög', customer: 'K100', priority_id: String(priority.id) });
  await createPolicyThroughForm({ ...base, name: 'Hög för alla', priority_id: String(priority.id) });
  const list = await ctx.admin.get('/admin/service-levels');
  const row = (name: string) => list.body.slice(list.body.indexOf(`>${name}</a>`)).split('</tr>')[0] ?? '';
  assert.match(
    row('Acme hög'),
    '<p class="policy-never-used">Används aldrig: ”Acme allt” ovanför matchar alla ärenden som den här skulle matcha.</p>',
  );
  assert.not.match(row('Acme allt'), 'Används aldrig');
  assert.not.match(row('Hög för alla'), 'Används aldrig');
  assert.is(list.body.split('Används aldrig').length - 1, 1);

  await seedUser(ctx.db, 'WILL', 'admin', { language: 'en' });
  const will = new TestClient(ctx.app);
  await will.login('will');
  const english = await will.get('/admin/service-levels');
  assert.match(english.body, 'Never used: “Acme allt” above matches every case this one would.');
});

test('every IANA time zone is offered; one outside the list is refused and never stored', async () => {
  const form = await ctx.admin.get('/admin/business-hours/new');
  const offered = [...form.body.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
  for (const zone of Intl.supportedValuesOf('timeZone')) assert.ok(offered.includes(zone), zone);
  assert.ok(offered.includes('UTC'));
  assert.match(form.body, '<option value="Europe/Stockholm" selected>');
  // a zone far from the old short list is saved
  const id = await createCalendarThroughForm(weekForm({ name: 'Chatham', time_zone: 'Pacific/Chatham' }));
  const row = await ctx.db.selectFrom('business_calendars').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.time_zone, 'Pacific/Chatham');
  assert.match((await ctx.admin.get(`/admin/business-hours/${id}`)).body, '<option value="Pacific/Chatham" selected>');
  // Intl might compute in these, but they are not the list's spelling or no zone at all
  for (const zone of ['europe/stockholm', 'utc', 'Mars/Olympus', 'Etc/Unknown', '+01:00']) {
    const res = await ctx.admin.post('/admin/business-hours', weekForm({ name: `Zon ${zone}`, time_zone: zone }));
    assert.is(res.statusCode, 422, zone);
    assert.match(res.body, /id="f-time_zone-error"[^>]*>Välj en tidszon i listan\./, zone);
    // the select starts with an empty choice, so no zone of the list is shown chosen instead
    assert.match(
      res.body,
      '<select id="f-time_zone" name="time_zone" required aria-invalid="true" aria-describedby="f-time_zone-error">\n    <option value="">Välj en tidszon</option>',
      zone,
    );
    assert.not.match(res.body, /<option value="[^"]*" selected>/, zone);
  }
  const stored = await ctx.db.selectFrom('business_calendars').select('id').where('name', 'like', 'Zon %').execute();
  assert.is(stored.length, 0);
  // an edit to an unknown zone leaves the stored one
  const edit = await ctx.admin.post(
    `/admin/business-hours/${id}`,
    weekForm({ name: 'Chatham', time_zone: 'Nowhere/Else' }),
  );
  assert.is(edit.statusCode, 422);
  const after = await ctx.db
    .selectFrom('business_calendars')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  assert.is(after.time_zone, 'Pacific/Chatham');
});

test('a repeated field or a NUL byte in a service level or a closed day is a form error, never a 500', async () => {
  const calendar = await ctx.db.selectFrom('business_calendars').select('id').orderBy('id').executeTakeFirstOrThrow();
  const policy = {
    name: 'Dubbelt fält',
    calendar_id: String(calendar.id),
    warn_percent: '75',
    first_response_hours: '2',
  };
  await ctx.admin.get('/admin/service-levels/new');
  for (const repeat of ['name', 'first_response_hours', 'calendar_id', 'active']) {
    const res = await ctx.admin.request({
      method: 'POST',
      url: '/admin/service-levels',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: urlencoded([['_csrf', ctx.admin.csrf], ...Object.entries(policy), [repeat, '3'], [repeat, '4']]),
    });
    assert.is(res.statusCode, 422, repeat);
    assert.match(res.body, 'Fältet kom mer än en gång', repeat);
  }
  const nulTarget = await ctx.admin.post('/admin/service-levels', {
    ...policy,
    warn_percent: '7\u00005',
    first_response_hours: '2\u0000',
    customer: 'K\u0000100',
  });
  assert.is(nulTarget.statusCode, 422);
  assert.match(nulTarget.body, 'Mellan 1 och 99.');
  assert.is(
    (await ctx.db.selectFrom('sla_policies').select('id').where('name', '=', 'Dubbelt fält').execute()).length,
    0,
  );
  // a NUL in a name is a space, as in every one-line field
  const nulName = await ctx.admin.post('/admin/service-levels', { ...policy, name: 'Noll\u0000byte' });
  assert.is(nulName.statusCode, 303, nulName.body);
  assert.ok(await ctx.db.selectFrom('sla_policies').select('id').where('name', '=', 'Noll byte').executeTakeFirst());

  await ctx.admin.get(`/admin/business-hours/${calendar.id}`);
  const repeatedDay = await ctx.admin.request({
    method: 'POST',
    url: `/admin/business-hours/${calendar.id}/closed-days`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: urlencoded([
      ['_csrf', ctx.admin.csrf],
      ['date', '2027-03-01'],
      ['date', '2027-03-02'],
    ]),
  });
  assert.is(repeatedDay.statusCode, 422);
  assert.match(repeatedDay.body, 'Fältet kom mer än en gång');
  const nulDay = await ctx.admin.post(`/admin/business-hours/${calendar.id}/closed-days`, {
    date: '2027-03-\u000001',
    note: 'N\u0000L',
  });
  assert.is(nulDay.statusCode, 422);
  const days = await ctx.db
    .selectFrom('business_calendar_closed_days')
    .select('date')
    .where('calendar_id', '=', calendar.id)
    .where('date', 'in', ['2027-03-01', '2027-03-02'])
    .execute();
  assert.is(days.length, 0);
  // a repeated zone on the calendar form, too
  const repeatedZone = await ctx.admin.request({
    method: 'POST',
    url: '/admin/business-hours',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: urlencoded([
      ['_csrf', ctx.admin.csrf],
      ...Object.entries(weekForm({ name: 'Två zoner' })),
      ['time_zone', 'UTC'],
    ]),
  });
  assert.is(repeatedZone.statusCode, 422);
  assert.match(repeatedZone.body, 'Fältet kom mer än en gång');
});

test('with several calendars a new policy names none until one is chosen', async () => {
  await createCalendarThroughForm(weekForm({ name: 'Andra kalendern' }));
  const page = await ctx.admin.get('/admin/service-levels/new');
  const select = /<select[^>]*name="calendar_id"[\s\S]*?<\/select>/.exec(page.body)?.[0] ?? '';
  assert.match(select, /<option value="" selected>Välj öppettider<\/option>/);
  assert.is((select.match(/ selected/g) ?? []).length, 1);
  const res = await ctx.admin.post('/admin/service-levels', {
    name: 'Ingen kalender vald',
    active: 'on',
    calendar_id: '',
    warn_percent: '75',
    first_response_hours: '2',
    first_response_minutes: '',
  });
  assert.is(res.statusCode, 422);
  assert.not.ok(
    await ctx.db.selectFrom('sla_policies').select('id').where('name', '=', 'Ingen kalender vald').executeTakeFirst(),
  );
});

test('two tabs editing one service level: the later save is refused with what it typed kept, and a second save wins', async () => {
  const calendar = await ctx.db.selectFrom('business_calendars').select('id').orderBy('id').executeTakeFirstOrThrow();
  const id = await createPolicyThroughForm({
    name: 'Två flikar',
    active: 'on',
    calendar_id: String(calendar.id),
    warn_percent: '75',
    first_response_hours: '4',
  });
  const loadedAt = (html: string) => /name="loaded_at" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const tab1 = loadedAt((await ctx.admin.get(`/admin/service-levels/${id}`)).body);
  const tab2 = loadedAt((await ctx.admin.get(`/admin/service-levels/${id}`)).body);
  assert.ok(tab1 && tab1 === tab2);
  const form = (over: Record<string, string>) => ({
    name: 'Två flikar',
    active: 'on',
    calendar_id: String(calendar.id),
    warn_percent: '75',
    first_response_hours: '4',
    ...over,
  });
  const first = await ctx.admin.post(`/admin/service-levels/${id}`, form({ name: 'Flik ett', loaded_at: tab1 }));
  assert.is(first.statusCode, 303);
  const second = await ctx.admin.post(
    `/admin/service-levels/${id}`,
    form({ first_response_hours: '3', loaded_at: tab2 }),
  );
  assert.is(second.statusCode, 409);
  assert.match(second.body, 'Någon sparade den här servicenivån efter att du öppnade den.');
  assert.match(second.body, /name="first_response_hours"[^>]*value="3"/);
  const kept = await ctx.db.selectFrom('sla_policies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(kept.name, 'Flik ett');
  assert.is(kept.first_response_minutes, 240);
  const again = await ctx.admin.post(
    `/admin/service-levels/${id}`,
    form({ first_response_hours: '3', loaded_at: loadedAt(second.body) }),
  );
  assert.is(again.statusCode, 303);
  const replaced = await ctx.db.selectFrom('sla_policies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(replaced.first_response_minutes, 180);
  assert.is(replaced.name, 'Två flikar');
});

test.run();
