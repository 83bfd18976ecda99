import type { Locator, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCase } from '../cases/cases.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { seedUser } from '../test-support/app.ts';
import {
  launchBrowser,
  logInThroughForm,
  startTestServer,
  type TestBrowser,
  type TestServer,
} from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme } from '../test-support/seeds.ts';
import { needs } from '../test-support/system-packages.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser };
const test = needs('chromium', suite('Keyboard shortcuts in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE');
  const anna = await seedUser(t.db, 'ANNA', 'agent', { language: 'en' });
  const { customer } = await seedAcme(t.db);
  const id = async (table: 'case_statuses' | 'case_types', name: string) =>
    (await t.db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  const open = await id('case_statuses', 'Öppen');
  const support = await id('case_types', 'Support');
  const seedCase = (title: string, responsible: User) =>
    createCase(
      t.db,
      {
        title,
        responsible_id: responsible.id,
        customer_id: customer.id,
        status_id: open,
        case_type_id: support,
        priority_id: null,
        due_date: null,
        contact_id: null,
        contact_name: 'Per Persson',
        contact_email: 'per@acme.se',
        contact_phone: null,
        body_html: `<div>${title}.</div>`,
      },
      responsible,
    );
  for (const title of ['Skrivaren fastnar', 'Lösenordet har gått ut', 'Ny skärm behövs']) await seedCase(title, kalle);
  await seedCase('Utskrifterna blir randiga', anna);
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

const pathOf = (page: Page) => new URL(page.url()).pathname;
const isFocused = (locator: Locator) => locator.evaluate((el) => el === document.activeElement);
const waitForFocus = async (locator: Locator) => {
  await locator.waitFor();
  await locator.page().waitForFunction((el) => el === document.activeElement, await locator.elementHandle());
};
// The overview's result table and its rows, in order, by their case numbers.
const table = (page: Page) => page.getByRole('table', { name: 'Ärenden som matchar filtret' });
const listed = (page: Page) =>
  table(page)
    .getByRole('link', { name: /^\d{4}-\d+$/ })
    .allTextContents();
const selectedRows = (page: Page) => table(page).locator('tbody tr[aria-current="true"]');
const rowOf = (page: Page, number: string) =>
  table(page)
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: number, exact: true }) });
// A click on the page's heading: the focus leaves any field for the page itself.
const clickHeading = (page: Page) => page.getByRole('heading', { level: 1 }).click();

test('? lists every shortcut in Swedish; Esc and the Close button close the list', async () => {
  const { page, problems } = ctx.browser;
  await logInThroughForm(page, ctx.server.url, 'kalle');
  await page.waitForURL(`${ctx.server.url}/cases`);
  await table(page).waitFor();

  const dialog = page.getByRole('dialog', { name: 'Kortkommandon' });
  assert.not.ok(await dialog.isVisible(), 'hidden until asked for');
  await page.keyboard.press('?');
  await dialog.waitFor();
  await dialog.getByRole('heading', { name: 'Kortkommandon' }).waitFor();
  const text = (await dialog.textContent()) ?? '';
  for (const line of [
    'Visa kortkommandona',
    'Sök i översikten',
    'Nästa / föregående ärende i översikten',
    'Öppna det markerade ärendet',
    'Svara kunden (i ett ärende)',
    'Skriv en intern anteckning (i ett ärende)',
    'Stäng menyer och dialoger',
    'Gå till översikten',
  ]) {
    assert.ok(text.includes(line), `the list says "${line}"`);
  }
  for (const key of ['?', '/', 'j', 'k', 'Enter', 'r', 'n', 'Esc', 'g', 'o']) {
    assert.ok(await dialog.locator('kbd', { hasText: key }).count(), `the list names the key ${key}`);
  }
  // The keys under the dialog rest while it is open.
  await page.keyboard.press('j');
  assert.is(await selectedRows(page).count(), 0);

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });

  await page.keyboard.press('?');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Stäng', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });

  // The user menu offers the list too, for those who do not know the key.
  await page.getByLabel('Användarmeny').click();
  await page.getByRole('link', { name: 'Kortkommandon', exact: true }).click();
  await dialog.waitFor();
  assert.not.ok(await page.getByRole('button', { name: 'Logga ut' }).isVisible(), 'the menu closed behind it');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test('a user who reads English gets the list in English', async () => {
  const browser = await launchBrowser({ locale: 'sv-SE' });
  try {
    const { page, problems } = browser;
    await logInThroughForm(page, ctx.server.url, 'anna');
    await page.getByRole('navigation', { name: 'Main navigation' }).waitFor();
    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    const text = (await dialog.textContent()) ?? '';
    for (const line of ['Search the overview', 'Reply to the customer (on a case)', 'Go to the overview']) {
      assert.ok(text.includes(line), `the list says "${line}"`);
    }
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(problems, []);
  } finally {
    await browser.close();
  }
});

test('j and k move a visible selection through the overview, and Enter opens its case', async () => {
  const { page, problems } = ctx.browser;
  await page.goto(`${ctx.server.url}/cases`);
  await table(page).waitFor();
  const [first, second, third] = await listed(page);
  assert.ok(first && second && third, 'three rows');

  await page.keyboard.press('j');
  assert.is(await selectedRows(page).count(), 1);
  assert.is(await rowOf(page, first).getAttribute('aria-current'), 'true', 'j marks the first row');
  assert.match(String(await rowOf(page, first).getAttribute('class')), 'is-selected');
  assert.ok(await isFocused(rowOf(page, first).getByRole('link', { name: first })), 'the focus follows');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  assert.is(await rowOf(page, third).getAttribute('aria-current'), 'true', 'j twice more: the third');
  await page.keyboard.press('j');
  assert.is(await rowOf(page, third).getAttribute('aria-current'), 'true', 'the last row stays marked');
  await page.keyboard.press('k');
  assert.is(await rowOf(page, second).getAttribute('aria-current'), 'true', 'k goes back');
  assert.is(await selectedRows(page).count(), 1, 'one row marked at a time');

  // Enter opens the marked case even when the focus has left the row.
  await clickHeading(page);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${ctx.server.url}/cases/${second}`);

  // And from its focused link.
  await page.goto(`${ctx.server.url}/cases`);
  await table(page).waitFor();
  await page.keyboard.press('k');
  assert.is(await rowOf(page, third).getAttribute('aria-current'), 'true', 'k first: the last row');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${ctx.server.url}/cases/${third}`);
  assert.equal(problems, []);
});

test('/ focuses the overview’s search, and no shortcut fires while typing in it', async () => {
  const { page, problems } = ctx.browser;
  await page.goto(`${ctx.server.url}/cases`);
  await table(page).waitFor();
  const search = page.getByLabel('Sök', { exact: true });

  await page.keyboard.press('/');
  await waitForFocus(search);
  assert.is(await search.inputValue(), '', 'the / is not typed');

  // Every shortcut key, typed into the search field, is only text.
  await page.keyboard.type('gojk?rn/');
  await page.keyboard.press('Enter');
  assert.is(await search.inputValue(), 'gojk?rn/');
  assert.ok(await isFocused(search));
  assert.is(pathOf(page), '/cases');
  assert.not.ok(await page.getByRole('dialog').isVisible(), 'no list opened');
  assert.is(await selectedRows(page).count(), 0, 'no row marked');
  // Esc in the field is the field's own (the search field clears), not a shortcut.
  await page.getByLabel('Användarmeny').click();
  await search.focus();
  await page.keyboard.press('Escape');
  assert.ok(await page.getByRole('button', { name: 'Logga ut' }).isVisible(), 'the menu stays open');
  await page.getByLabel('Användarmeny').click();

  // With Ctrl, Alt or Meta held the keys are the browser's.
  await page.goto(`${ctx.server.url}/cases`);
  await table(page).waitFor();
  await page.keyboard.press('Alt+j');
  await page.keyboard.press('Alt+/');
  assert.is(await selectedRows(page).count(), 0);
  assert.not.ok(await isFocused(search));

  // From anywhere else / goes to the overview's search.
  const [number] = await listed(page);
  await page.goto(`${ctx.server.url}/cases/${number}`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.keyboard.press('/');
  await page.waitForURL(`${ctx.server.url}/cases`);
  await waitForFocus(search);
  assert.equal(problems, []);
});

test('on a case r opens the reply to the customer and n the internal note; typing in them is only text', async () => {
  const { page, problems } = ctx.browser;
  await page.goto(`${ctx.server.url}/cases`);
  await table(page).waitFor();
  const [number] = await listed(page);
  await page.goto(`${ctx.server.url}/cases/${number}/history`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  const reply = page.getByRole('textbox', { name: 'Svar till kunden' });
  const note = page.getByLabel('Intern anteckning', { exact: true });
  assert.is(await reply.count(), 0, 'the history tab has no reply box');

  // r from another tab opens the thread tab and its reply box.
  await page.keyboard.press('r');
  await waitForFocus(reply);
  assert.is(pathOf(page), `/cases/${number}/thread`);
  assert.is((await reply.textContent())?.trim(), '', 'the r is not typed');

  // Typing the shortcut keys in the reply is only text.
  await page.keyboard.type('gonr');
  assert.is((await reply.textContent())?.trim(), 'gonr');
  assert.is(pathOf(page), `/cases/${number}/thread`);
  assert.ok(await isFocused(reply));

  await clickHeading(page);
  await page.keyboard.press('n');
  await waitForFocus(note);
  assert.is(pathOf(page), `/cases/${number}/internal`);
  const before = await note.inputValue();
  assert.not.match(before, /n$/, 'the n is not typed');
  await page.keyboard.type('jk');
  assert.ok((await note.inputValue()).endsWith('jk'), 'typed into the note');
  assert.is(pathOf(page), `/cases/${number}/internal`);

  // r on the case's page with the reply box already there focuses it.
  await page.goto(`${ctx.server.url}/cases/${number}`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.keyboard.press('r');
  await waitForFocus(reply);
  assert.equal(problems, []);
});

test('Esc closes the open menus, and g then o goes to the overview', async () => {
  const { page, problems } = ctx.browser;
  await page.goto(`${ctx.server.url}/cases`);
  await table(page).waitFor();
  const [number] = await listed(page);
  await page.goto(`${ctx.server.url}/cases/${number}`);
  await page.getByRole('heading', { level: 1 }).waitFor();

  await page.getByLabel('Användarmeny').click();
  const logOut = page.getByRole('button', { name: 'Logga ut' });
  await logOut.waitFor();
  await page.keyboard.press('Escape');
  await logOut.waitFor({ state: 'hidden' });

  const manage = page.getByRole('main').getByText('Hantera', { exact: true });
  await manage.click();
  const workOrder = page.getByRole('link', { name: 'Skapa arbetsorder' });
  await workOrder.waitFor();
  await page.keyboard.press('Escape');
  await workOrder.waitFor({ state: 'hidden' });
  assert.ok(await isFocused(manage), 'the focus goes back to the menu’s button');

  // g, another key, o: not the sequence.
  await page.keyboard.press('g');
  await page.keyboard.press('x');
  await page.keyboard.press('o');
  assert.is(pathOf(page), `/cases/${number}`);

  await page.keyboard.press('g');
  await page.keyboard.press('o');
  await page.waitForURL(`${ctx.server.url}/cases`);
  assert.equal(problems, []);
});

test.run();
