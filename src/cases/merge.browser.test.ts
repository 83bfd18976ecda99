import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { buildTestApp, seedUser, testConfig } from '../test-support/app.ts';
import { launchBrowser, logInThroughForm, type TestBrowser } from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { receiveMail, testMail } from '../test-support/inbound.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { needs } from '../test-support/system-packages.ts';
import { addStaffReply } from '../threads/threads.ts';

// Merging a duplicate in Chromium, by visible labels (issue 18, part 4): KALLE merges B into A
// from B's Manage menu, lands on A with B's reply marked as coming from B, and the customer's
// answer to B (by its tag) shows up on A.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  config: Config;
  app: FastifyInstance;
  base: string;
  browser: TestBrowser;
  a: Case;
  b: Case;
};
const test = needs('chromium', suite('Merging a duplicate case in a browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.config = testConfig();
  const kalle = await seedUser(t.db, 'KALLE', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.a = await seedPrinterJamCase(t.db, kalle, customer.id, contact.id, { title: 'Skrivaren fastnar' });
  ctx.b = await seedPrinterJamCase(t.db, kalle, customer.id, contact.id, { title: 'Skrivaren fastnar (igen)' });
  await addStaffReply(
    t.db,
    ctx.b.id,
    { body_html: '<div>Vi skickar en tekniker på torsdag.</div>', delivery: 'saved' },
    kalle,
  );
  await t.db
    .updateTable('mail_settings')
    .set({ from_address: 'support@casedesk.test', subject_tag: '[#{number}]' })
    .execute();
  ctx.app = await buildTestApp(t.db);
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  ctx.base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.app?.close();
  await ctx.drop?.();
});

test('KALLE merges B into A from the Manage menu; A shows B’s reply from B, and mail to B arrives on A', async () => {
  const page = ctx.browser.page;
  await logInThroughForm(page, ctx.base, 'kalle', { next: `/cases/${ctx.b.number}` });
  await page.waitForURL(`${ctx.base}/cases/${ctx.b.number}`);

  await page.getByText('Hantera', { exact: true }).click();
  await page.getByRole('link', { name: 'Slå ihop med ett annat ärende…' }).click();
  await page.getByLabel('Ärendenummer att slå ihop med').fill(ctx.a.number);
  await page.getByRole('button', { name: 'Fortsätt' }).click();
  await page.getByRole('heading', { name: `Slå ihop ${ctx.b.number} med ${ctx.a.number}?` }).waitFor();
  await page.getByRole('button', { name: `Slå ihop ${ctx.b.number} med ${ctx.a.number}` }).dblclick();

  // the second click's post replaces the first's navigation (Chromium aborts the first): what
  // counts is where the user lands, with the message of the one merge
  await page.getByText(`Ärende ${ctx.b.number} slogs ihop med ${ctx.a.number}.`).waitFor();
  assert.is(page.url(), `${ctx.base}/cases/${ctx.a.number}`);
  const moved = page.locator('article', { hasText: 'Vi skickar en tekniker på torsdag.' });
  await moved.getByText(`från ärende ${ctx.b.number}`).waitFor();

  // B's address leads to A
  await page.goto(`${ctx.base}/cases/${ctx.b.number}`);
  await page.waitForURL(`${ctx.base}/cases/${ctx.a.number}`);

  // the customer answers B's mail: it lands on A
  const received = await receiveMail(
    ctx.db,
    ctx.config,
    testMail(
      { From: 'Per Persson <per@acme.se>', Subject: `SV: [#${ctx.b.number}] Skrivaren fastnar (igen)` },
      'Torsdag passar bra.',
    ),
  );
  assert.is(received.caseNumber, ctx.a.number);
  await page.reload();
  await page.getByText('Torsdag passar bra.').waitFor();
  const merges = await ctx.db.selectFrom('case_events').select('id').where('kind', '=', 'merged_in').execute();
  assert.is(merges.length, 1, 'the double click merged once');
  assert.equal(ctx.browser.problems, [], 'no script errors or CSP refusals');
});

test.run();
