import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { buildTestApp, seedUser } from '../test-support/app.ts';
import { launchBrowser, logInThroughForm, type TestBrowser } from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { needs } from '../test-support/system-packages.ts';
import { addStaffReply } from '../threads/threads.ts';

// Splitting a case in Chromium, by visible labels (issue 18, part 5): KALLE ticks the reply that
// belongs to another matter, names the new case, and lands on it with the reply marked as coming
// from the original; a double click makes one new case.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  app: FastifyInstance;
  base: string;
  browser: TestBrowser;
  a: Case;
};
const test = needs('chromium', suite('Splitting a case in a browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.a = await seedPrinterJamCase(t.db, kalle, customer.id, contact.id, { title: 'Skrivaren fastnar' });
  await addStaffReply(
    t.db,
    ctx.a.id,
    { body_html: '<div>Fakturan för november skickar vi separat.</div>', delivery: 'saved' },
    kalle,
  );
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

test('KALLE splits the invoice reply into a new case; it shows there from the original, and the cases are linked', async () => {
  const page = ctx.browser.page;
  await logInThroughForm(page, ctx.base, 'kalle', { next: `/cases/${ctx.a.number}` });
  await page.waitForURL(`${ctx.base}/cases/${ctx.a.number}`);

  await page.getByText('Hantera', { exact: true }).click();
  await page.getByRole('link', { name: 'Dela upp i ett nytt ärende…' }).click();
  await page.getByRole('heading', { name: `Dela upp ärende ${ctx.a.number}` }).waitFor();
  await page.getByLabel('Fakturan för november skickar vi separat.').check();
  await page.getByLabel('Rubrik för det nya ärendet').fill('Faktura november');
  await page.getByRole('button', { name: 'Flytta till ett nytt ärende' }).dblclick();

  // the second click's post may replace the first's navigation (Chromium aborts the first): what
  // counts is where the user lands
  await page
    .getByRole('heading', { name: /Faktura november/ })
    .first()
    .waitFor();
  const landed = new URL(page.url());
  assert.ok(landed.pathname.startsWith('/cases/') && !landed.pathname.endsWith(ctx.a.number), landed.pathname);
  const moved = page.locator('article', { hasText: 'Fakturan för november skickar vi separat.' });
  await moved.getByText(`från ärende ${ctx.a.number}`).waitFor();
  const links = page.getByRole('region', { name: 'Länkade ärenden' });
  await links.getByText('Relaterat:').waitFor();
  await links.getByRole('link', { name: `${ctx.a.number} Skrivaren fastnar` }).waitFor();

  const created = await ctx.db.selectFrom('cases').select('number').where('id', '<>', ctx.a.id).execute();
  assert.is(created.length, 1, 'the double click made one new case');

  // the original no longer shows the moved reply
  await page.goto(`${ctx.base}/cases/${ctx.a.number}`);
  await page
    .getByRole('heading', { name: /Skrivaren fastnar/ })
    .first()
    .waitFor();
  assert.is(await page.getByText('Fakturan för november skickar vi separat.').count(), 0);
  assert.equal(ctx.browser.problems, [], 'no script errors or CSP refusals');
});

test.run();
