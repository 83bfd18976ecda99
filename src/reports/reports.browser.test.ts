import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import { seedUser } from '../test-support/app.ts';
import {
  launchBrowser,
  logInThroughForm,
  startTestServer,
  type TestBrowser,
  type TestServer,
} from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { needs } from '../test-support/system-packages.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser; numbers: string[] };
const test = needs('chromium', suite('Reports in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE');
  const { customer } = await seedAcme(t.db);
  const other = await createCustomer(t.db, { number: 'K2002', name: 'Bageriet', email_domains: [] });
  // March 2025: two printer cases for Acme on the 3rd, one for Bageriet on the 10th
  ctx.numbers = [];
  for (const [day, customerId, title] of [
    ['2025-03-03', customer.id, 'Skrivaren fastnar'],
    ['2025-03-03', customer.id, 'Tonern är slut'],
    ['2025-03-10', other.id, 'Ugnen är trasig'],
  ] as const) {
    const kase = await seedPrinterJamCase(t.db, kalle, customerId, undefined, { title });
    ctx.numbers.push(kase.number);
    await sql`update cases set created_at = ${`${day} 10:00`}::timestamp at time zone 'Europe/Stockholm'
      where id = ${kase.id}`.execute(t.db);
  }
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

test('KALLE opens Rapporter, picks March and a customer, downloads a CSV and follows a bar to the cases', async () => {
  const { page, problems } = ctx.browser;
  await logInThroughForm(page, ctx.server.url, 'kalle');
  await page.getByRole('navigation', { name: 'Huvudmeny' }).getByRole('link', { name: 'Rapporter' }).click();
  await page.getByRole('heading', { name: 'Rapporter', level: 1 }).waitFor();

  const summary = page.getByRole('table', { name: 'Nyckeltal' });
  const casesIn = async () =>
    (
      await summary
        .getByRole('row', { name: /^Inkomna ärenden/ })
        .getByRole('cell')
        .first()
        .textContent()
    )?.trim();

  await page.getByLabel('Period', { exact: true }).selectOption({ label: 'Datumen nedan' });
  await page.getByLabel('Från', { exact: true }).fill('2025-03-01');
  await page.getByLabel('Till', { exact: true }).fill('2025-03-31');
  await page.getByRole('button', { name: 'Visa' }).click();
  await page.getByText('2025-03-01 till 2025-03-31').waitFor();
  assert.is(await casesIn(), '3');

  // the chart's table shows the day's cases
  const volume = page.getByRole('figure', { name: 'Inkomna och avslutade ärenden' });
  await volume.getByText('Visa som tabell').click();
  const day = volume.getByRole('row', { name: /2025-03-10/ });
  assert.match((await day.textContent()) ?? '', '1');

  // a filter: Acme only
  await page.getByLabel('Kundnummer', { exact: true }).fill('K1001');
  await page.getByRole('button', { name: 'Visa' }).click();
  await page.waitForURL(/customer=K1001/);
  assert.is(await casesIn(), '2');
  const customers = page.getByRole('figure', { name: 'Kunder med flest ärenden' });
  await customers.getByText('Visa som tabell').click();
  await customers.getByRole('row', { name: /Acme AB/ }).waitFor();
  assert.is(await customers.getByRole('row', { name: /Bageriet/ }).count(), 0);

  // the CSV of the chart, for the same period and customer
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    customers.getByRole('link', { name: 'Ladda ner ”Kunder med flest ärenden” som CSV' }).click(),
  ]);
  const path = await download.path();
  const csv = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  assert.equal(csv.split('\r\n'), ['Kund,Inkomna ärenden', 'Acme AB,2', '']);

  // the bar of 3 March opens the overview with those two cases
  await volume.getByRole('link', { name: '2025-03-03: Inkomna ärenden 2' }).click();
  await page.waitForURL(/\/cases\?.*created_in=2025-03-03\.\.2025-03-03/);
  await page
    .getByRole('link', { name: new RegExp(ctx.numbers[0] as string) })
    .first()
    .waitFor();
  await page
    .getByRole('link', { name: new RegExp(ctx.numbers[1] as string) })
    .first()
    .waitFor();
  assert.is(await page.getByText('Ugnen är trasig').count(), 0);
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
