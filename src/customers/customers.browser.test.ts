import type { Locator, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { launchBrowser, startTestServer, type TestBrowser, type TestServer } from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { needs } from '../test-support/system-packages.ts';
import { ensureAdminUser } from '../users/users.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser };
const test = needs('chromium', suite('Customers and contacts in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await ensureAdminUser(t.db, 'admin-password-1');
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

const pathOf = (url: string) => new URL(url).pathname;
const textOf = async (locator: Locator) => ((await locator.textContent()) ?? '').trim();

// The text a screen reader reads out after a field's name: its hint and error, by aria-describedby.
async function descriptionOf(page: Page, field: Locator): Promise<string> {
  const ids = (await field.getAttribute('aria-describedby'))?.split(/\s+/).filter(Boolean) ?? [];
  const parts: string[] = [];
  for (const id of ids) parts.push(await textOf(page.locator(`[id="${id}"]`)));
  return parts.join(' ');
}

async function openCustomerList(page: Page, base: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Main navigation' })
    .getByRole('link', { name: 'Administration', exact: true })
    .click();
  await page.waitForURL(`${base}/admin`);
  await page.getByRole('main').getByRole('link', { name: 'Customers', exact: true }).click();
  await page.waitForURL(`${base}/admin/customers`);
  await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
}

test('an admin creates a customer with a contact, finds it again and logs out', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  const main = page.getByRole('main');
  const alerts = page.getByRole('status');
  // The customer's own form, beside the add-contact form that also has a Name field.
  const customerForm = main.locator('form').filter({ has: page.getByRole('button', { name: 'Save', exact: true }) });

  // 1. The login page speaks Swedish to a Swedish browser.
  await page.goto(`${base}/login`);
  await page.getByRole('heading', { name: 'Logga in' }).waitFor();
  await page.getByLabel('Användar-ID').fill('admin');
  await page.getByLabel('Lösenord').fill('admin-password-1');
  await page.getByRole('button', { name: 'Logga in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/login');

  // 2. English from the user menu.
  await page.getByLabel('Användarmeny').click();
  await page.getByRole('button', { name: 'English', exact: true }).click();
  await page.getByRole('navigation', { name: 'Main navigation' }).waitFor();
  assert.is(await page.locator('html').getAttribute('lang'), 'en');

  // 3. Administration → Customers → New customer, saved with the Save button.
  await openCustomerList(page, base);
  assert.ok(await main.getByText('Nothing here yet.').isVisible(), 'an empty list says so');
  await main.getByRole('link', { name: 'New customer', exact: true }).click();
  await page.waitForURL(`${base}/admin/customers/new`);
  await page.getByRole('heading', { name: 'New customer', level: 1 }).waitFor();
  await page.getByLabel('Customer number').fill('K1001');
  await page.getByLabel('Name').fill('Acme AB');
  await page.getByLabel('E-mail domains').fill('acme.se');
  assert.match(await descriptionOf(page, page.getByLabel('E-mail domains')), 'Mail from these domains');
  await main.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('heading', { name: 'Customer K1001', level: 1 }).waitFor();
  assert.match(pathOf(page.url()), /^\/admin\/customers\/\d+$/);
  const acmeUrl = page.url();
  assert.is(await textOf(alerts), 'Saved.');
  assert.is(await customerForm.getByLabel('Customer number').inputValue(), 'K1001');
  assert.is(await customerForm.getByLabel('Name').inputValue(), 'Acme AB');
  assert.is(await customerForm.getByLabel('E-mail domains').inputValue(), 'acme.se');
  assert.ok(await main.getByText('No contacts yet.').isVisible());

  // 4. A contact added on the customer's page shows in its contacts table.
  const newContact = main.getByRole('form', { name: 'New contact' });
  await newContact.getByLabel('Name').fill('Anna Andersson');
  await newContact.getByLabel('E-mail').fill('anna@acme.se');
  await newContact.getByLabel('Phone').fill('+46 8 123 45 67');
  await newContact.getByRole('button', { name: 'Add contact', exact: true }).click();
  const annaRow = main.getByRole('row').filter({ has: page.getByRole('link', { name: 'Anna Andersson' }) });
  await annaRow.waitFor();
  assert.is(page.url(), acmeUrl);
  assert.is(await textOf(alerts), 'Saved.');
  assert.equal(await annaRow.getByRole('cell').allInnerTexts(), [
    'Anna Andersson',
    'anna@acme.se',
    '+46 8 123 45 67',
    'Active',
  ]);
  assert.is(await newContact.getByLabel('Name').inputValue(), '', 'the add form is empty again');

  // 5. The same customer number again: the error stands next to the field, the typing is kept.
  await page.getByRole('link', { name: '← Customers' }).click();
  await page.waitForURL(`${base}/admin/customers`);
  await main.getByRole('link', { name: 'New customer', exact: true }).click();
  await page.getByLabel('Customer number').fill('K1001');
  await page.getByLabel('Name').fill('Acme Again AB');
  await main.getByRole('button', { name: 'Save', exact: true }).click();
  await main.getByRole('alert').filter({ hasText: 'Please correct the fields marked below.' }).waitFor();
  await page.getByRole('heading', { name: 'New customer', level: 1 }).waitFor();
  const number = page.getByLabel('Customer number');
  assert.is(await number.getAttribute('aria-invalid'), 'true');
  assert.is(await descriptionOf(page, number), 'That customer number is already in use.');
  assert.ok(await main.getByText('That customer number is already in use.').isVisible());
  assert.is(await number.inputValue(), 'K1001');
  assert.is(await page.getByLabel('Name').inputValue(), 'Acme Again AB');

  // Keyboard: a fresh new-customer form saved with F2 instead of the Save button.
  await main.getByRole('link', { name: 'Cancel', exact: true }).click();
  await page.waitForURL(`${base}/admin/customers`);
  await main.getByRole('link', { name: 'New customer', exact: true }).click();
  await page.waitForURL(`${base}/admin/customers/new`);
  await page.getByLabel('Customer number').fill('K1002');
  await page.getByLabel('Name').fill('Beta Oy');
  await page.getByLabel('E-mail domains').fill('beta.fi');
  await page.getByLabel('E-mail domains').press('F2');
  await page.getByRole('heading', { name: 'Customer K1002', level: 1 }).waitFor();
  assert.is(await textOf(alerts), 'Saved.');
  assert.is(await customerForm.getByLabel('Name').inputValue(), 'Beta Oy');

  // 6. The list's search box narrows the rows as one types; the hit opens the customer.
  await openCustomerList(page, base);
  const rows = main.locator('tbody').getByRole('row');
  assert.is(await rows.count(), 2);
  const search = page.getByRole('searchbox', { name: 'Search customers' });
  // A mark on the window survives only if htmx swaps the rows rather than loading a new page.
  await page.evaluate(() => Object.assign(window, { stillHere: true }));
  await search.fill('acm');
  await page.waitForURL((url) => url.searchParams.get('q') === 'acm');
  await main.getByRole('cell', { name: 'Beta Oy' }).waitFor({ state: 'detached' });
  assert.is(await rows.count(), 1);
  assert.equal(await rows.first().getByRole('cell').allInnerTexts(), ['K1001', 'Acme AB', 'acme.se', 'Active']);
  assert.ok(await page.evaluate(() => 'stillHere' in window), 'the rows were swapped in place');
  await search.fill('nobody-here');
  await main.getByText('No customers match the search.').waitFor();
  // The Search button does the same for those who press it.
  await search.fill('acm');
  await main.getByRole('button', { name: 'Search', exact: true }).click();
  await main.getByRole('link', { name: 'K1001', exact: true }).waitFor();
  await main.getByRole('link', { name: 'K1001', exact: true }).click();
  await page.waitForURL(acmeUrl);
  await page.getByRole('heading', { name: 'Customer K1001', level: 1 }).waitFor();
  assert.ok(await main.getByRole('link', { name: 'Anna Andersson' }).isVisible());

  // 7. Out again through the user menu.
  await page.getByLabel('User menu').click();
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.waitForURL(`${base}/login`);
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  assert.ok(await page.getByLabel('User ID').isVisible());
  assert.not.ok(await page.getByRole('navigation', { name: 'Main navigation' }).count());

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
