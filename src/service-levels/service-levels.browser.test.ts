import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { quickEditCase } from '../cases/cases.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { createMailSender, type MailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, testConfig } from '../test-support/app.ts';
import { launchBrowser, logInThroughForm, type TestBrowser } from '../test-support/browser.ts';
import { injectClock, type TestClock } from '../test-support/clock.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { findCaseByNumber, receiveMail, testMail } from '../test-support/inbound.ts';
import { seedAcme } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { needs } from '../test-support/system-packages.ts';
import { runSlaEscalation } from './escalation.ts';

// Issue 17's "Done when", in Chromium by visible labels, with an injected clock (test-support/
// clock.ts): the app in this process reads the time the test sets. The instants lie after the
// real time, as sessions expire by the database's own clock.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  app: FastifyInstance;
  base: string;
  sender: MailSender;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  browser: TestBrowser;
  clock: TestClock;
  kalle: User;
  env: Record<string, string>;
};
const test = needs('chromium', suite('Service levels from setup to escalation in a real browser'));

// Friday 11 December 2026, 16:30 in Stockholm (UTC+1); the response is due Monday at 09:30,
// its 75 % warning point (90 of 120 business minutes) Monday at 09:00.
const fridayAt1630 = '2026-12-11T15:30:00Z';
const mondayAt0905 = '2026-12-14T08:05:00Z';

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.clock = injectClock(new Date(Math.max(Date.now(), Date.parse(fridayAt1630) - 3600_000)));
  await seedUser(t.db, 'ADMINA', 'admin');
  ctx.kalle = await seedUser(t.db, 'KALLE');
  await seedAcme(t.db);
  ctx.smtp = await startTestSmtpServer();
  ctx.env = { SMTP_URL: ctx.smtp.url, PUBLIC_URL: 'http://casedesk.test' };
  ctx.sender = createMailSender({ db: t.db, config: testConfig(ctx.env), log: () => {}, intervalMs: 300 });
  ctx.sender.start();
  ctx.app = await buildTestApp(t.db, ctx.env, { mailSender: ctx.sender });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  ctx.base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  ctx.clock?.restore();
  await ctx.browser?.close();
  await ctx.sender?.stop();
  await ctx.app?.close();
  await ctx.smtp?.close();
  await ctx.drop?.();
});

// A page the session may have outlived (the clock jumped a weekend): log in again on the way.
async function open(path: string, login: string) {
  const { page } = ctx.browser;
  await page.goto(`${ctx.base}${path}`);
  if (new URL(page.url()).pathname === '/login') {
    await logInThroughForm(page, ctx.base, login, { next: path });
  }
}

test('a Friday-afternoon mail owes a response by Monday 09:30, warns at 75 % and turns to resolution on reply', async () => {
  const { page, problems } = ctx.browser;

  // 1. The administrator: business hours Mon–Fri 08:00–17:00 in Stockholm, and a policy for high
  // priority with a first response within 2 business hours (and resolution within 16).
  await logInThroughForm(page, ctx.base, 'admina', { next: '/admin/business-hours/new' });
  await page.getByLabel('Namn').fill('Kontorstid');
  await page.getByLabel('Tidszon').selectOption('Europe/Stockholm');
  for (const day of ['Måndag', 'Tisdag', 'Onsdag', 'Torsdag', 'Fredag']) {
    await page.getByLabel(`${day}: Öppnar`).fill('08:00');
    await page.getByLabel(`${day}: Stänger`).fill('17:00');
  }
  await page.getByRole('button', { name: 'Spara', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.endsWith('/new'));

  await page.goto(`${ctx.base}/admin/service-levels/new`);
  await page.getByLabel('Namn').fill('Hög prioritet');
  await page.getByLabel('Prioritet').selectOption({ label: 'Hög' });
  await page.getByLabel('Öppettider').selectOption({ label: 'Kontorstid' });
  await page.getByLabel('Första svar: timmar').fill('2');
  await page.getByLabel('Lösning: timmar').fill('16');
  await page.getByRole('button', { name: 'Spara', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.endsWith('/new'));
  await page.getByText('Hög prioritet').first().waitFor();

  // 2. Friday 16:30: the customer's mail arrives and becomes a case; KALLE is made responsible
  // and it is given high priority (the header edits an agent would make).
  ctx.clock.set(fridayAt1630);
  const received = await receiveMail(
    ctx.db,
    testConfig(ctx.env),
    testMail(
      {
        From: 'Per Persson <per@acme.se>',
        Subject: 'Skrivaren skriver inte ut',
        Date: 'Fri, 11 Dec 2026 16:30:00 +0100',
      },
      'Hej, skrivaren på plan 2 skriver inte ut.',
    ),
  );
  const kase = await findCaseByNumber(ctx.db, (received as { caseNumber?: string }).caseNumber);
  const high = await ctx.db.selectFrom('priorities').select('id').where('name', '=', 'Hög').executeTakeFirstOrThrow();
  const assigned = await quickEditCase(
    ctx.db,
    kase.id,
    kase.version,
    'responsible_id',
    String(ctx.kalle.id),
    ctx.kalle,
  );
  await quickEditCase(ctx.db, kase.id, assigned.version, 'priority_id', String(high.id), ctx.kalle);

  // 3. The badge: two business hours left, due Monday 09:30 in its tooltip.
  await open(`/cases/${kase.number}`, 'kalle');
  const badge = page.locator('.case-sla span[title]').first();
  assert.match(String(await badge.textContent()), /^Första svar inom 2 h/);
  assert.match(String(await badge.getAttribute('title')), /09:30/);
  assert.match(String(await badge.getAttribute('title')), /14/);

  // 4. Monday 09:05, past the 75 % point: the job runs; KALLE sees the bell and gets the mail.
  ctx.clock.set(mondayAt0905);
  const run = await runSlaEscalation(ctx.db, testConfig(ctx.env));
  assert.is(run.warnings, 1);
  await open('/notifications', 'kalle');
  // the bell names the target it warns of
  await page
    .getByRole('button', { name: new RegExp(`Servicenivå i fara \\(Första svar\\): ${kase.number}`) })
    .waitFor();
  const [mail] = await ctx.smtp.waitFor(1, 15_000);
  assert.ok(mail);
  assert.equal(mail.envelopeTo, ['kalle@example.com']);
  assert.match(String(mail.parsed.subject), /Tidsgräns nära/);
  assert.match(String(mail.parsed.text), new RegExp(`http://casedesk.test/cases/${kase.number}`));

  // 5. KALLE replies to the customer; the badge turns to the resolution target.
  await open(`/cases/${kase.number}`, 'kalle');
  const editor = page.locator('form.reply-box trix-editor');
  await editor.click();
  await page.keyboard.type('Hej Per! Vi tittar på skrivaren nu.');
  await page.getByLabel('Skicka till kunden nu').check();
  await page.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await page.getByText('Hej Per! Vi tittar på skrivaren nu.').first().waitFor();
  await open(`/cases/${kase.number}`, 'kalle');
  const after = page.locator('.case-sla span[title]').first();
  // 16 business hours from Friday 16:30, less the 30 minutes on Friday and 65 on Monday morning
  assert.match(String(await after.textContent()), /^Lösning inom 14 h 25 min/);

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
