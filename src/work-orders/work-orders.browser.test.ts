import type { Locator } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
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
import { createProject } from './projects.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser; kase: Case };
const test = needs('chromium', suite('Manage → Create work order on a case, in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE');
  const { customer, contact } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, kalle, customer.id, contact.id);
  const project = { responsible_id: null, active: true, number: null };
  await createProject(t.db, { ...project, name: 'Skrivarbyte', customer_id: customer.id }, kalle);
  await createProject(t.db, { ...project, name: 'Internt', customer_id: null }, kalle);
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

const selectedLabel = (select: Locator) =>
  select.evaluate((element: HTMLSelectElement) => element.selectedOptions[0]?.textContent?.trim() ?? '');

test('KALLE creates a work order from a case; case, overview and work order link to each other', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  const number = ctx.kase.number;
  await logInThroughForm(page, base, 'kalle');
  await page.goto(`${base}/cases/${number}`);

  await page.getByText('Hantera', { exact: true }).click();
  await page.getByRole('link', { name: 'Skapa arbetsorder' }).click();
  const dialog = page.getByRole('dialog', { name: 'Skapa arbetsorder' });
  await dialog.waitFor();
  const name = dialog.getByRole('textbox', { name: 'Benämning' });
  const project = dialog.getByRole('combobox', { name: 'Projekt', exact: true });
  const responsible = dialog.getByRole('combobox', { name: 'Ansvarig' });
  assert.is(await name.inputValue(), 'Skrivaren fastnar', 'the name defaults to the case title');
  assert.is(await selectedLabel(responsible), 'Kalle Testsson (KALLE)', "the case's responsible");
  const firstGroup = await project.locator('optgroup').first().getAttribute('label');
  assert.is(firstGroup, 'Kundens projekt', "the customer's projects come first");

  // Confirming without a project is refused in the dialog, with the name typed kept.
  await name.fill('Byt skrivare');
  await dialog.getByRole('button', { name: 'Skapa arbetsorder' }).click();
  await dialog.getByText('Välj ett projekt.').waitFor();
  assert.is(await dialog.getByRole('textbox', { name: 'Benämning' }).inputValue(), 'Byt skrivare');
  await page.waitForFunction(() => document.activeElement?.id === 'wo-project_id');

  // The search box narrows the list, typed slowly enough that the options refresh in between
  // without taking the cursor away from the search box.
  const search = dialog.getByRole('searchbox', { name: 'Sök projekt' });
  await search.click();
  await search.pressSequentially('skr', { delay: 50 });
  await page.waitForFunction(
    () => document.querySelectorAll('#wo-project_id option[value]:not([value=""])').length === 1,
  );
  await search.pressSequentially('ivar', { delay: 50 });
  await page.waitForTimeout(400);
  assert.is(await search.inputValue(), 'skrivar');
  await page.waitForFunction(
    () => document.querySelectorAll('#wo-project_id option[value]:not([value=""])').length === 1,
  );
  await dialog.getByRole('combobox', { name: 'Projekt', exact: true }).selectOption({ label: 'P0001 Skrivarbyte' });
  await dialog.getByRole('button', { name: 'Skapa arbetsorder' }).click();

  await page.getByText('Arbetsorder AO00001 skapad.').waitFor();
  assert.is(new URL(page.url()).pathname, `/cases/${number}`);
  assert.is(await selectedLabel(page.getByRole('combobox', { name: 'Status', exact: true })), 'Till uppdrag');
  const headerLink = page.getByRole('main').getByRole('link', { name: 'AO00001' });
  assert.is(await headerLink.getAttribute('href'), '/work-orders/AO00001');

  // The overview row links straight to the work order (O5).
  await page.getByRole('navigation', { name: 'Huvudmeny' }).getByRole('link', { name: 'Ärenden' }).click();
  const row = page.getByRole('row').filter({ hasText: number });
  await row.getByRole('link', { name: 'AO00001' }).click();
  await page.waitForURL(`${base}/work-orders/AO00001`);
  await page.getByRole('heading', { name: 'AO00001 Byt skrivare' }).waitFor();
  assert.match((await page.getByRole('main').textContent()) ?? '', 'Pappret fastnar i fack 2.');

  // And the work order links back to its case.
  await page
    .getByRole('link', { name: `${number} Skrivaren fastnar` })
    .first()
    .click();
  await page.waitForURL(`${base}/cases/${number}`);

  // A second try shows the open work order instead of making another.
  await page.getByText('Hantera', { exact: true }).click();
  await page.getByRole('link', { name: 'Skapa arbetsorder' }).click();
  await page.getByRole('dialog').getByText('Ärendet har redan en öppen arbetsorder').waitFor();
  await page.getByRole('dialog').getByRole('link', { name: 'Stäng' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });

  assert.equal(problems, []);
});

test.run();
