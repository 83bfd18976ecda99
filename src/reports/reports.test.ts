import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyCaseEvent, recordCaseEvent } from '../cases/case-events.ts';
import { createCase, type NewCaseInput } from '../cases/cases.ts';
import { filterToQuery, parseOverviewFilter } from '../cases/overview.ts';
import { statusOfKind } from '../cases/statuses.ts';
import type { Config } from '../config.ts';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { todayIn } from '../i18n/i18n.ts';
import { runKontroll } from '../kontroll/kontroll.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { receiveMail, testMail } from '../test-support/inbound.ts';
import { seedAcme, seedAllHoursPolicy } from '../test-support/seeds.ts';
import { addStaffReply } from '../threads/threads.ts';
import { chartIds, csvCell } from './charts.ts';
import { addDays, previousPeriod, resolvePeriod } from './period.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  app: FastifyInstance;
  config: Config;
  kalle: User;
  anna: User;
  admin: User;
  acme: number;
  evil: number;
  typeId: number;
  status: Record<'open' | 'closed', number>;
  numbers: Record<string, string>;
};

const rules = suite('The report period');
rules('named periods, the period compared with, and refused ranges', () => {
  const p = (k: Parameters<typeof resolvePeriod>[0], custom = {}) => resolvePeriod(k, '2026-03-11', custom);
  assert.equal(p('this_week'), {
    ok: true,
    period: { kind: 'this_week', from: '2026-03-09', to: '2026-03-15', days: 7 },
  });
  assert.equal(p('last_week'), {
    ok: true,
    period: { kind: 'last_week', from: '2026-03-02', to: '2026-03-08', days: 7 },
  });
  assert.equal(p('this_month'), {
    ok: true,
    period: { kind: 'this_month', from: '2026-03-01', to: '2026-03-31', days: 31 },
  });
  assert.equal(p('last_month'), {
    ok: true,
    period: { kind: 'last_month', from: '2026-02-01', to: '2026-02-28', days: 28 },
  });
  assert.equal(p('this_year'), {
    ok: true,
    period: { kind: 'this_year', from: '2026-01-01', to: '2026-12-31', days: 365 },
  });
  const month = p('last_month');
  assert.ok(month.ok);
  // a month is compared with the whole month before, a year with the year before
  assert.equal(previousPeriod(month.period), { kind: 'custom', from: '2026-01-01', to: '2026-01-31', days: 31 });
  const year = p('this_year');
  assert.ok(year.ok);
  assert.equal(previousPeriod(year.period), { kind: 'custom', from: '2025-01-01', to: '2025-12-31', days: 365 });
  // a week or a range of days with as many days just before it
  const week = p('this_week');
  assert.ok(week.ok);
  assert.equal(previousPeriod(week.period), { kind: 'custom', from: '2026-03-02', to: '2026-03-08', days: 7 });
  const range = p('custom', { from: '2026-02-10', to: '2026-03-01' });
  assert.ok(range.ok);
  assert.equal(previousPeriod(range.period), { kind: 'custom', from: '2026-01-21', to: '2026-02-09', days: 20 });
  assert.equal(p('custom', { from: '2026-02-30', to: '2026-03-01' }), { ok: false, error: 'reports.error.bad_date' });
  assert.equal(p('custom', { from: '2026-03-02', to: '2026-03-01' }), { ok: false, error: 'reports.error.reversed' });
  assert.equal(p('custom', { from: '2020-01-01', to: '2026-03-01' }), { ok: false, error: 'reports.error.too_long' });
  assert.equal(p('custom', { from: '2026-03-01' }), { ok: false, error: 'reports.error.bad_date' });
  assert.is(addDays('2024-02-28', 1), '2024-02-29');
});
rules('CSV cells that a spreadsheet would run are kept as text', () => {
  assert.is(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.is(csvCell('+46 8'), "'+46 8");
  assert.is(csvCell('-1'), "'-1");
  assert.is(csvCell('@SUM(A1)'), "'@SUM(A1)");
  assert.is(csvCell('Acme AB'), 'Acme AB');
  assert.is(csvCell(-3), '-3');
  assert.is(csvCell(null), '');
});
rules("the overview's day range (a bar's link): real days in order, else none", () => {
  const range = (q: Record<string, string>) => parseOverviewFilter(q).dayRange ?? null;
  assert.equal(range({ created_in: '2025-03-01..2025-03-07' }), {
    on: 'created',
    from: '2025-03-01',
    to: '2025-03-07',
  });
  assert.equal(range({ closed_in: '2025-03-01..2025-03-01' }), { on: 'closed', from: '2025-03-01', to: '2025-03-01' });
  for (const bad of ['2025-03-07..2025-03-01', '2025-02-30..2025-03-01', '2025-03-01', "2025-03-01..x' or 1=1", '']) {
    assert.is(range({ created_in: bad }), null, bad);
  }
  const filter = parseOverviewFilter({ resp: 'any', closed_in: '2025-03-01..2025-03-31' });
  assert.is(filterToQuery(filter), '?resp=any&closed_in=2025-03-01..2025-03-31');
});
rules.run();

const newCase = (over: Partial<NewCaseInput> = {}): NewCaseInput => ({
  title: 'Skrivaren fastnar',
  responsible_id: ctx.kalle.id,
  customer_id: ctx.acme,
  status_id: ctx.status.open,
  case_type_id: ctx.typeId,
  priority_id: null,
  due_date: null,
  contact_id: null,
  contact_name: 'Per Persson',
  contact_email: 'per@acme.se',
  contact_phone: null,
  body_html: '<div>Hej</div>',
  ...over,
});

// A moment on a day in the configured zone (Stockholm): noon local time.
const at = (day: string, hour = 12) =>
  sql<Date>`(${`${day} ${hour}:00`}::timestamp at time zone ${ctx.config.timeZone})`;

const test = suite('The reports page');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig(), numbers: {} });
  ctx.app = await buildTestApp(ctx.db);
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'en' });
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent', { language: 'en' });
  ctx.admin = await seedUser(ctx.db, 'ADMIN', 'admin', { language: 'en' });
  ctx.acme = (await seedAcme(ctx.db)).customer.id;
  ctx.evil = (await createCustomer(ctx.db, { number: 'K666', name: '=HYPERLINK("http://x")', email_domains: [] })).id;
  ctx.status = { open: await statusOfKind(ctx.db, 'open'), closed: await statusOfKind(ctx.db, 'closed') };
  ctx.typeId = (await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow()).id;
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Support', from_address: 'support@casedesk.test' })
    .execute();
  // March 2025 (a past month, so "now" does not move the figures): cases on several days, some
  // answered, some closed, some Anna's, some for the customer with a formula for a name.
  const plan: { day: string; who: User; customer: number; replyHours?: number; closeDay?: string; name: string }[] = [
    { day: '2025-03-03', who: ctx.kalle, customer: ctx.acme, replyHours: 2, closeDay: '2025-03-04', name: 'a' },
    { day: '2025-03-03', who: ctx.kalle, customer: ctx.acme, replyHours: 5, name: 'b' },
    { day: '2025-03-05', who: ctx.anna, customer: ctx.acme, replyHours: 1, closeDay: '2025-03-20', name: 'c' },
    { day: '2025-03-12', who: ctx.kalle, customer: ctx.evil, closeDay: '2025-03-12', name: 'd' },
    { day: '2025-03-31', who: ctx.anna, customer: ctx.evil, name: 'e' },
    { day: '2025-02-27', who: ctx.kalle, customer: ctx.acme, replyHours: 30, closeDay: '2025-03-02', name: 'f' },
    { day: '2025-04-01', who: ctx.kalle, customer: ctx.acme, name: 'g' },
  ];
  for (const p of plan) {
    const kase = await createCase(ctx.db, newCase({ responsible_id: p.who.id, customer_id: p.customer }), p.who);
    ctx.numbers[p.name] = kase.number;
    await ctx.db
      .updateTable('cases')
      .set({ created_at: at(p.day) })
      .where('id', '=', kase.id)
      .execute();
    if (p.replyHours !== undefined) {
      await addStaffReply(
        ctx.db,
        kase.id,
        { body_html: '<div>Svar</div>', delivery: 'to_send', to: ['per@acme.se'] },
        p.who,
        { config: ctx.config },
      );
      await sql`update thread_entries set created_at = ${at(p.day)} + make_interval(hours => ${p.replyHours})
        where case_id = ${kase.id} and side = 'staff'`.execute(ctx.db);
    }
    if (p.closeDay) {
      await applyCaseEvent(ctx.db, kase.id, { type: 'status_set', status: ctx.status.closed }, p.who);
      await ctx.db
        .updateTable('cases')
        .set({ closed_at: at(p.closeDay, 15) })
        .where('id', '=', kase.id)
        .execute();
    }
  }
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const figure = (html: string, key: string) => {
  const m = new RegExp(
    `data-figure="${key}"><th scope="row">[^<]*</th><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>`,
  ).exec(html);
  assert.ok(m, `the figure ${key} is on the page`);
  return { now: m[1], previous: m[2], change: m[3] };
};

// The same figures straight from cases and thread_entries, not from the report's facts.
async function independently(from: string, to: string, responsibleId: number | null) {
  const tz = ctx.config.timeZone;
  const who = responsibleId === null ? sql`true` : sql`c.responsible_id = ${responsibleId}`;
  const { rows } = await sql<{
    in: number;
    closed: number;
    fr: number | null;
    res: number | null;
    res90: number | null;
  }>`
    select
      (select count(*)::integer from cases c where (c.created_at at time zone ${tz})::date between ${from} and ${to} and ${who}) as in,
      (select count(*)::integer from cases c where (c.closed_at at time zone ${tz})::date between ${from} and ${to} and ${who}) as closed,
      (select percentile_cont(0.5) within group (order by extract(epoch from (
          (select min(t.created_at) from thread_entries t where t.case_id = c.id and t.side = 'staff' and t.delivery <> 'saved')
          - c.created_at)) / 3600)
       from cases c where (c.created_at at time zone ${tz})::date between ${from} and ${to} and ${who}) as fr,
      (select percentile_cont(0.5) within group (order by extract(epoch from (c.closed_at - c.created_at)) / 3600)
       from cases c where (c.closed_at at time zone ${tz})::date between ${from} and ${to} and ${who}) as res,
      (select percentile_cont(0.9) within group (order by extract(epoch from (c.closed_at - c.created_at)) / 3600)
       from cases c where (c.closed_at at time zone ${tz})::date between ${from} and ${to} and ${who}) as res90`.execute(
    ctx.db,
  );
  return rows[0] as { in: number; closed: number; fr: number | null; res: number | null; res90: number | null };
}

const show = (v: number | null) => (v === null ? '—' : String(Math.round(v * 10) / 10));

test('the figures match SQL over the raw cases, for the team and for me, with the previous period', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  for (const [resp, id] of [
    ['any', null],
    ['me', ctx.kalle.id],
  ] as const) {
    // February 15 to April 20: the team's times for March (a whole UTC month) come from the monthly
    // rollups, those of the days before and after it from the facts; they must add up the same
    const wide = await kalle.get(`/reports?period=custom&from=2025-02-15&to=2025-04-20&resp=${resp}`);
    const wanted = await independently('2025-02-15', '2025-04-20', id);
    assert.is(figure(wide.body, 'in').now, String(wanted.in), `${resp}: cases in over three months`);
    assert.is(figure(wide.body, 'closed').now, String(wanted.closed), `${resp}: cases closed over three months`);
    assert.is(figure(wide.body, 'first_response_median').now, show(wanted.fr), `${resp}: first response, three months`);
    assert.is(figure(wide.body, 'resolution_median').now, show(wanted.res), `${resp}: resolution, three months`);
    assert.is(figure(wide.body, 'resolution_p90').now, show(wanted.res90), `${resp}: resolution p90, three months`);

    // the cases in per channel and closed per person, in the CSVs, against the raw cases
    const tz = ctx.config.timeZone;
    const who = id === null ? sql`true` : sql`c.responsible_id = ${id}`;
    const csvCounts = async (chart: string, column: number) =>
      (await kalle.get(`/reports/${chart}.csv?period=custom&from=2025-02-15&to=2025-04-20&resp=${resp}`)).body
        .trim()
        .split('\r\n')
        .slice(1)
        .map((line) => Number(line.split(',')[column]))
        .filter((n) => n > 0)
        .sort((x, y) => x - y);
    // the raw cases whose `on` day lies in the period, counted per `by`, smallest count first
    const rawCounts = async (on: 'created_at' | 'closed_at', by: 'source' | 'responsible_id') =>
      (
        await sql<{ n: number }>`
        select count(*)::integer as n from cases c
        where (${sql.ref(`c.${on}`)} at time zone ${tz})::date between '2025-02-15' and '2025-04-20' and ${who}
        group by ${sql.ref(`c.${by}`)} order by n`.execute(ctx.db)
      ).rows.map((r) => r.n);
    assert.equal(
      await csvCounts('channels', 1),
      await rawCounts('created_at', 'source'),
      `${resp}: cases in per channel`,
    );
    assert.equal(
      await csvCounts('workload', 2),
      await rawCounts('closed_at', 'responsible_id'),
      `${resp}: cases closed per person`,
    );

    const res = await kalle.get(`/reports?period=custom&from=2025-03-01&to=2025-03-31&resp=${resp}`);
    assert.is(res.statusCode, 200, res.body);
    const want = await independently('2025-03-01', '2025-03-31', id);
    const before = await independently('2025-01-29', '2025-02-28', id);
    assert.is(figure(res.body, 'in').now, String(want.in), `${resp}: cases in`);
    assert.is(figure(res.body, 'closed').now, String(want.closed), `${resp}: cases closed`);
    assert.is(figure(res.body, 'first_response_median').now, show(want.fr), `${resp}: first response`);
    assert.is(figure(res.body, 'resolution_median').now, show(want.res), `${resp}: resolution`);
    assert.is(figure(res.body, 'resolution_p90').now, show(want.res90), `${resp}: resolution p90`);
    assert.is(figure(res.body, 'in').previous, String(before.in), `${resp}: cases in before`);
    assert.match(res.body, '2025-01-29 to 2025-02-28', 'the previous period is named');
  }
  const team = await kalle.get('/reports?period=custom&from=2025-03-01&to=2025-03-31&resp=any');
  assert.is(figure(team.body, 'in').now, '5');
  assert.is(figure(team.body, 'in').change, '+4', 'one case came in the month before');
  // dates changed in the date fields make a range of their own, whatever the period list says
  const typed = await kalle.get('/reports?period=this_month&from=2025-03-01&to=2025-03-31&resp=any');
  assert.is(figure(typed.body, 'in').now, '5');
  assert.match(typed.body, '<option value="custom" selected>');
  // the period list changed and the dates left as the page showed them: the period list wins
  const page = await kalle.get('/reports?period=custom&from=2025-03-01&to=2025-03-31&resp=any');
  assert.match(page.body, 'name="shown" value="2025-03-01_2025-03-31"');
  const listed = await kalle.get(
    '/reports?period=last_month&from=2025-03-01&to=2025-03-31&shown=2025-03-01_2025-03-31&resp=any',
  );
  const lastMonth = resolvePeriod('last_month', todayIn(ctx.config.timeZone));
  assert.ok(lastMonth.ok);
  assert.match(listed.body, `${lastMonth.period.from} to ${lastMonth.period.to}`);
  assert.match(listed.body, '<option value="last_month" selected>');
  // a filter changes the figures
  const acme = await kalle.get('/reports?period=custom&from=2025-03-01&to=2025-03-31&resp=any&customer=K1001');
  assert.is(figure(acme.body, 'in').now, '3');
});

test('a bar links to the overview showing exactly those cases', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  const res = await kalle.get('/reports?period=custom&from=2025-03-01&to=2025-03-31&resp=any');
  const href = /<a href="(\/cases\?[^"]*created_in=2025-03-03\.\.2025-03-03[^"]*)"/.exec(res.body)?.[1];
  assert.ok(href, 'the bar of 3 March links to the overview');
  const overview = await kalle.get(href.replaceAll('&amp;', '&'));
  assert.is(overview.statusCode, 200);
  for (const name of ['a', 'b']) assert.ok(overview.body.includes(ctx.numbers[name] as string), `case ${name} shown`);
  for (const name of ['c', 'd', 'f'])
    assert.not.ok(overview.body.includes(ctx.numbers[name] as string), `case ${name} not`);
  const closed = await kalle.get('/cases?resp=any&kind=closed&closed_in=2025-03-01..2025-03-31');
  for (const name of ['a', 'c', 'd', 'f'])
    assert.ok(closed.body.includes(ctx.numbers[name] as string), `${name} closed`);
  assert.not.ok(closed.body.includes(ctx.numbers.b as string), 'b is open');
});

test('rights: an agent sees their own and the team, not another person; the admin anyone; nobody signed in goes to login', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  assert.is((await kalle.get(`/reports?resp=${ctx.anna.id}`)).statusCode, 403);
  assert.is((await kalle.get(`/reports/volume.csv?resp=${ctx.anna.id}`)).statusCode, 403);
  const page = await kalle.get('/reports');
  assert.is(page.statusCode, 200);
  assert.not.ok(page.body.includes('>Anna Testsson</option>'), 'no other person to pick');
  assert.match(page.body, '>Reports</a>', 'in the main menu');
  const admin = new TestClient(ctx.app);
  await admin.login('ADMIN');
  const annas = await admin.get(`/reports?period=custom&from=2025-03-01&to=2025-03-31&resp=${ctx.anna.id}`);
  assert.is(annas.statusCode, 200);
  assert.is(figure(annas.body, 'in').now, '2');
  const nobody = await ctx.app.inject({ method: 'GET', url: '/reports' });
  assert.is(nobody.statusCode, 303);
  assert.match(String(nobody.headers.location), '/login');
  const csv = await ctx.app.inject({ method: 'GET', url: '/reports/volume.csv' });
  assert.is(csv.statusCode, 303);
});

test('hostile query strings get a clear 4xx', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  const cases: [string, number, string?][] = [
    ['/reports?period=custom&from=2025-02-30&to=2025-03-01', 422, 'YYYY-MM-DD'],
    ['/reports?period=custom&from=2025-03-02&to=2025-03-01', 422, 'after the last'],
    ['/reports?period=custom&from=2019-01-01&to=2025-03-01', 422, 'three years'],
    ['/reports?period=custom', 422],
    ['/reports?period=forever', 422],
    ['/reports?period=this_week&period=last_week', 422],
    // control characters are dropped from a query field: no customer asked for
    ['/reports?customer=%00', 200],
    ['/reports?from=2025-01-01%00&to=2025-01-02&period=custom', 200],
    ['/reports?type=abc', 422],
    ['/reports?prio=99999999999', 422],
    ['/reports?customer=NOPE', 422, 'no customer'],
    ['/reports?resp=-1', 422],
    ['/reports/nothing.csv', 404],
    ['/reports/volume.txt', 404],
    ['/reports/volume.csv?period=custom&from=x&to=y', 422],
  ];
  for (const [url, status, text] of cases) {
    const res = await kalle.get(url);
    assert.is(res.statusCode, status, url);
    if (text) assert.match(res.body, text, url);
  }
});

test("Kontroll's effect: reminded, answered after the reminder, closed without an answer", async () => {
  const waiting = await statusOfKind(ctx.db, 'waiting');
  const cases = [];
  for (const name of ['k1', 'k2', 'k3']) {
    const kase = await createCase(ctx.db, newCase({ status_id: waiting, customer_id: ctx.acme }), ctx.kalle);
    ctx.numbers[name] = kase.number;
    cases.push(kase);
  }
  const ids = cases.map((c) => c.id);
  const monthAgo = new Date(Date.now() - 30 * 86_400_000);
  await ctx.db.updateTable('cases').set({ waiting_since: monthAgo }).where('id', 'in', ids).execute();
  await ctx.db
    .updateTable('case_settings')
    .set({ kontroll_remind_enabled: true, kontroll_remind_days: 7, kontroll_close_enabled: false })
    .execute();
  assert.is((await runKontroll(ctx.db, ctx.config)).status, 'done');
  // the customer answers the first reminder
  await receiveMail(
    ctx.db,
    ctx.config,
    testMail({ From: 'per@acme.se', Subject: `Re: [#${ctx.numbers.k1}] Skrivaren fastnar` }, 'Nu fungerar den.'),
  );
  // the other two stay unanswered until Kontroll closes them
  await ctx.db.updateTable('cases').set({ waiting_since: monthAgo }).where('id', 'in', ids.slice(1)).execute();
  await ctx.db
    .updateTable('case_settings')
    .set({ kontroll_remind_enabled: false, kontroll_close_enabled: true, kontroll_close_days: 14 })
    .execute();
  assert.is((await runKontroll(ctx.db, ctx.config)).status, 'done');
  await ctx.db.updateTable('case_settings').set({ kontroll_close_enabled: false }).execute();

  const { rows } = await sql<{ reminded: number; answered: number; closed: number }>`
    select
      (select count(distinct case_id)::integer from case_events where kind = 'kontroll_reminder') as reminded,
      (select count(distinct e.case_id)::integer from case_events e where e.kind = 'kontroll_reminder'
        and exists (select from thread_entries t where t.case_id = e.case_id and t.side = 'customer'
          and t.created_at > e.created_at)) as answered,
      (select count(distinct case_id)::integer from case_events where kind = 'kontroll_closed') as closed`.execute(
    ctx.db,
  );
  assert.equal(rows[0], { reminded: 3, answered: 1, closed: 2 }, 'what happened, counted from the raw rows');
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  const csv = await kalle.get('/reports/kontroll.csv?period=this_week');
  assert.equal(csv.body.replace(/^\uFEFF/, '').split('\r\n'), [
    'Figure,Cases',
    'Reminded,3',
    'Answered after a reminder,1',
    'Closed without an answer,2',
    '',
  ]);
});

test('the service-level figure: the share of cases under a policy that met every deadline, as the raw rows say', async () => {
  await seedAllHoursPolicy(ctx.db);
  const breached = await createCase(ctx.db, newCase(), ctx.kalle);
  await createCase(ctx.db, newCase(), ctx.kalle);
  await createCase(ctx.db, newCase(), ctx.kalle);
  await recordCaseEvent(ctx.db, breached.id, 'sla_breached', null, { new_value: 'first_response' });
  const week = resolvePeriod('this_week', todayIn(ctx.config.timeZone));
  assert.ok(week.ok);
  const tz = ctx.config.timeZone;
  const { rows } = await sql<{ with: number; met: number }>`
    select count(*)::integer as with,
      count(*) filter (where not exists (
        select from case_events e where e.case_id = c.id and e.kind = 'sla_breached'))::integer as met
    from cases c
    where c.sla_policy_id is not null and c.responsible_id = ${ctx.kalle.id}
      and (c.created_at at time zone ${tz})::date between ${week.period.from} and ${week.period.to}`.execute(ctx.db);
  const raw = rows[0] as { with: number; met: number };
  assert.equal(raw, { with: 3, met: 2 });
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  const page = await kalle.get('/reports?period=this_week');
  assert.is(figure(page.body, 'sla_met').now, String(Math.round((100 * raw.met) / raw.with)));
  const csv = (await kalle.get('/reports/sla.csv?period=this_week')).body.replace(/^\uFEFF/, '').split('\r\n');
  assert.is(csv[1], `Cases in with a service level,${raw.with},0`);
  assert.is(csv[3], `Missed a deadline,${raw.with - raw.met},0`);
});

test('times in business hours come from the service-level clock of the cases that have one', async () => {
  // the previous test's 24/7 policy is in force: these cases run by it
  const cases = [];
  for (let i = 0; i < 3; i++) cases.push(await createCase(ctx.db, newCase({ responsible_id: ctx.anna.id }), ctx.anna));
  const [a, b, c] = cases as [(typeof cases)[0], (typeof cases)[0], (typeof cases)[0]];
  await applyCaseEvent(ctx.db, c.id, { type: 'status_set', status: ctx.status.closed }, ctx.anna);
  // what the clock would hold after replies taking 1, 2.5 and 4 business hours and a close after
  // 10 (written straight to the cases, as a clock replayed over those days would)
  for (const [kase, minutes] of [
    [a, 60],
    [b, 150],
    [c, 240],
  ] as const) {
    await sql`update cases set sla_clock = jsonb_set(sla_clock, '{firstResponseMinutes}', to_jsonb(${minutes}::int))
      where id = ${kase.id}`.execute(ctx.db);
  }
  await sql`update cases set sla_clock = jsonb_set(sla_clock, '{resolution,used}', '600') where id = ${c.id}`.execute(
    ctx.db,
  );
  const tz = ctx.config.timeZone;
  const week = resolvePeriod('this_week', todayIn(tz));
  assert.ok(week.ok);
  const { rows } = await sql<{ fr: number; res: number }>`
    select
      (select percentile_cont(0.5) within group (order by (c.sla_clock->>'firstResponseMinutes')::numeric / 60)
       from cases c where c.responsible_id = ${ctx.anna.id}
         and (c.created_at at time zone ${tz})::date between ${week.period.from} and ${week.period.to}) as fr,
      (select percentile_cont(0.5) within group (order by (c.sla_clock->'resolution'->>'used')::numeric / 60)
       from cases c where c.responsible_id = ${ctx.anna.id} and c.closed_at is not null
         and (c.closed_at at time zone ${tz})::date between ${week.period.from} and ${week.period.to}) as res`.execute(
    ctx.db,
  );
  assert.equal(rows[0], { fr: 2.5, res: 10 });
  const admin = new TestClient(ctx.app);
  await admin.login('ADMIN');
  const page = await admin.get(`/reports?period=this_week&resp=${ctx.anna.id}`);
  assert.is(figure(page.body, 'first_response_business_median').now, '2.5');
  assert.is(figure(page.body, 'resolution_business_median').now, '10');
  assert.match(page.body, 'First response, median (business hours)');
  // Undo send of the first reply takes its time back out of the figures
  await sql`update cases set sla_clock = sla_clock - 'firstResponseMinutes' where id = ${b.id}`.execute(ctx.db);
  const after = await admin.get(`/reports?period=this_week&resp=${ctx.anna.id}`);
  assert.is(figure(after.body, 'first_response_business_median').now, '2.5', 'the median of 1 and 4');
  assert.is(figure(after.body, 'first_response_business_p90').now, '3.7');
});

test('top customers by time: the hours their cases closed in the period were open, summed, as the raw rows say', async () => {
  const tz = ctx.config.timeZone;
  const { rows } = await sql<{ name: string; hours: number; cases: number }>`
    select cu.name, round(sum(extract(epoch from (c.closed_at - c.created_at)) / 3600))::integer as hours,
      count(*)::integer as cases
    from cases c join customers cu on cu.id = c.customer_id
    where (c.closed_at at time zone ${tz})::date between '2025-03-01' and '2025-03-31'
    group by cu.name order by hours desc`.execute(ctx.db);
  assert.ok(rows.length >= 2);
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  const csv = (await kalle.get('/reports/customer_time.csv?period=custom&from=2025-03-01&to=2025-03-31&resp=any')).body
    .replace(/^\uFEFF/, '')
    .split('\r\n');
  assert.is(csv[0], 'Customer,"Hours open, cases closed in the period",Cases closed');
  assert.equal(
    csv.slice(1, -1),
    rows.map((r) =>
      [r.name.startsWith('=') ? `"'${r.name.replaceAll('"', '""')}"` : r.name, r.hours, r.cases].join(','),
    ),
  );
  const page = await kalle.get('/reports?period=custom&from=2025-03-01&to=2025-03-31&resp=any');
  assert.match(page.body, 'Top customers by time');
  // a bar leads to the customer's cases closed in the period
  assert.match(page.body, /href="\/cases\?[^"]*customer=K1001[^"]*"/);
});

test('each chart downloads as CSV with the same query, formulas kept as text', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  const q = '?period=custom&from=2025-03-01&to=2025-03-31&resp=any';
  const page = await kalle.get(`/reports${q}`);
  for (const chart of chartIds) {
    assert.ok(page.body.includes(`href="/reports/${chart}.csv${q.replaceAll('&', '&amp;')}"`), `${chart}: a link`);
    const res = await kalle.get(`/reports/${chart}.csv${q}`);
    assert.is(res.statusCode, 200, chart);
    assert.match(String(res.headers['content-type']), 'text/csv');
    assert.match(
      String(res.headers['content-disposition']),
      /^attachment; filename="[a-z_]+-2025-03-01-2025-03-31\.csv"$/,
    );
  }
  const customers = (await kalle.get(`/reports/customers.csv${q}`)).body.replace(/^\uFEFF/, '');
  assert.equal(customers.split('\r\n'), ['Customer,Cases in', 'Acme AB,3', `"'=HYPERLINK(""http://x"")",2`, '']);
  const volume = (await kalle.get(`/reports/volume.csv${q}`)).body.replace(/^\uFEFF/, '').split('\r\n');
  assert.is(volume[0], 'From,To,Cases in,Cases closed');
  assert.ok(volume.includes('2025-03-03,2025-03-03,2,0'));
  assert.ok(volume.includes('2025-03-12,2025-03-12,1,1'));
});

test.run();
