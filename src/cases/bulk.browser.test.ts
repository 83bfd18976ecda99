import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { createMailSender, type MailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, testConfig } from '../test-support/app.ts';
import { launchBrowser, logInThroughForm, type TestBrowser } from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { needs } from '../test-support/system-packages.ts';

// Bulk close from the overview in Chromium, by visible labels (issue 18, part 3): KALLE ticks all
// his cases, then twenty of them with a shift-click, closes them with a message, reads the
// summary, and each of the twenty customers' cases sends exactly one mail.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  sender: MailSender;
  app: FastifyInstance;
  base: string;
  browser: TestBrowser;
  cases: Case[];
};
const test = needs('chromium', suite('Bulk close of twenty cases in a browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.cases = [];
  for (let i = 1; i <= 22; i++)
    ctx.cases.push(await seedPrinterJamCase(t.db, kalle, customer.id, contact.id, { title: `Skrivare ${i}` }));
  // no Undo hold: a reply's mail leaves at once, so the test can count the mails
  await t.db.updateTable('case_settings').set({ undo_send_seconds: 0 }).where('id', '=', 1).execute();
  ctx.smtp = await startTestSmtpServer();
  const env = { SMTP_URL: ctx.smtp.url };
  ctx.sender = createMailSender({ db: t.db, config: testConfig(env), log: () => {}, intervalMs: 300 });
  ctx.sender.start();
  ctx.app = await buildTestApp(t.db, env, { mailSender: ctx.sender });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  ctx.base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.sender?.stop();
  await ctx.app?.close();
  await ctx.smtp?.close();
  await ctx.drop?.();
});

test('select all, then twenty by shift-click, close them with a message: a summary and one mail each', async () => {
  const page = ctx.browser.page;
  await logInThroughForm(page, ctx.base, 'kalle');
  await page.waitForURL(`${ctx.base}/cases`);

  const all = page.getByRole('checkbox', { name: 'Välj alla ärenden på sidan' });
  await all.check();
  await page.getByText('22 valda').waitFor();
  await all.uncheck();
  assert.is(
    await page.getByRole('form', { name: 'Ändra valda ärenden' }).isVisible(),
    false,
    'no bar with nothing ticked',
  );

  const boxes = page.getByRole('checkbox', { name: /^Välj ärende / });
  assert.is(await boxes.count(), 22);
  await boxes.nth(1).click();
  await boxes.nth(20).click({ modifiers: ['Shift'] });
  await page.getByText('20 valda').waitFor();

  const bar = page.getByRole('form', { name: 'Ändra valda ärenden' });
  await bar.getByLabel('Åtgärd').selectOption({ label: 'Stäng' });
  assert.is(await bar.getByLabel('Ny prioritet').isVisible(), false, 'only what closing needs is shown');
  await bar
    .getByLabel('Meddelande till varje kund (valfritt)')
    .fill('Vi stänger ärendet nu. Hör av er om det krånglar igen.');
  await bar.getByRole('button', { name: 'Utför på valda' }).dblclick();
  await page.getByText('20 ändrade, 0 hoppades över').waitFor();

  const rows = await ctx.db
    .selectFrom('cases')
    .select(['id', 'status_kind'])
    .where(
      'id',
      'in',
      ctx.cases.map((c) => c.id),
    )
    .execute();
  assert.is(rows.filter((r) => r.status_kind === 'closed').length, 20);
  const mails = await ctx.smtp.waitFor(20);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.is(ctx.smtp.received.length, 20, 'one mail per case, none doubled by the double click');
  const subjects = new Set(mails.map((m) => String(m.parsed.subject)));
  assert.is(subjects.size, 20, 'each mail names its own case');
  assert.ok(mails.every((m) => String(m.parsed.text).includes('Vi stänger ärendet nu.')));
  assert.equal(ctx.browser.problems, [], 'no script errors or CSP refusals');
});

test.run();
