import type { Locator, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
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
import { seedAcme } from '../test-support/seeds.ts';
import { needs } from '../test-support/system-packages.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser };
const test = needs(
  'chromium',
  suite('A case from "New case" to its reply, internal note and history, in a real browser'),
);

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedUser(t.db, 'KALLE');
  await seedUser(t.db, 'ANNA');
  await seedAcme(t.db);
  await t.db
    .insertInto('canned_replies')
    .values({ title: 'Tack', body_html: '<div>Tack för ditt mejl!</div>' })
    .execute();
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

const logIn = (page: Page, login: string) => logInThroughForm(page, ctx.server.url, login);

// What a screen reader reads after a field's name: the texts its aria-describedby points at.
const descriptionOf = (field: Locator) =>
  field.evaluate((element) =>
    (element.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent?.trim() ?? '')
      .join(' '),
  );
const selectedLabel = (select: Locator) =>
  select.evaluate((element: HTMLSelectElement) => element.selectedOptions[0]?.textContent?.trim() ?? '');
const plain = (text: string | null) =>
  (text ?? '')
    .replace(/\u00a0/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

// Trix takes in keys, cursor moves and the text its form sends a frame or two later. A person's
// pause lets it catch up; keys fired at machine speed (Ctrl+B, a shortcut that saves) can beat it.
const settle = (page: Page) =>
  page.evaluate(
    () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 50)))),
  );

// Today's date as the browser's clock sees it (same machine, same time zone).
function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

test('KALLE creates a case, answers with a canned reply, keeps an internal note and edits the header', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  await logIn(page, 'kalle');

  // (a) New case: a missing title is refused and everything typed comes back.
  await page.goto(`${base}/cases`);
  await page.getByRole('main').getByRole('link', { name: 'Nytt ärende', exact: true }).first().click();
  await page.waitForURL(`${base}/cases/new`);
  await page.getByRole('heading', { name: 'Nytt ärende' }).waitFor();

  // By their accessible names: the "*" after a required field's label is hidden from screen readers.
  const title = page.getByRole('textbox', { name: 'Rubrik', exact: true });
  const picker = (name: string) => page.getByRole('combobox', { name, exact: true });
  const responsible = picker('Ansvarig');
  // An input with a datalist is a combobox too.
  const customer = picker('Kund');
  const contact = picker('Kontaktperson');
  const status = picker('Status');
  const type = picker('Ärendetyp');
  const priority = picker('Prioritet');
  const text = page.getByRole('textbox', { name: 'Ärendetext' });

  assert.is(await selectedLabel(responsible), 'Kalle Testsson (KALLE)', 'the new case is mine unless I change it');
  await responsible.selectOption({ label: 'Anna Testsson (ANNA)' });
  await customer.click();
  await page.keyboard.type('K10');
  // The suggestions arrive as datalist options while typing.
  await page.locator('#customer-options option[value="K1001"]').waitFor({ state: 'attached' });
  await page.keyboard.type('01');
  await page.keyboard.press('Tab');
  // Leaving the customer field loads its contacts into the contact picker.
  await contact.locator('option', { hasText: 'Per Persson' }).waitFor({ state: 'attached' });
  await contact.selectOption({ label: 'Per Persson <per@acme.se>' });
  await status.selectOption({ label: 'Öppen' });
  await type.selectOption({ label: 'Fråga' });
  await priority.selectOption({ label: 'Normal' });
  await text.click();
  await page.keyboard.type('Skrivaren ');
  await settle(page);
  await page.keyboard.press('Control+B');
  await page.keyboard.type('fastnar');
  await settle(page);
  await page.keyboard.press('Control+B');
  await page.keyboard.type(' i fack 2.');
  assert.is(await text.locator('strong').textContent(), 'fastnar');
  await settle(page);
  await page.keyboard.press('Control+S');

  await page.getByText('Rätta fälten som är markerade nedan.').waitFor();
  assert.is(new URL(page.url()).pathname, '/cases', 'the form came back from its POST');
  assert.is(await title.getAttribute('aria-invalid'), 'true');
  assert.is(await descriptionOf(title), 'Måste fyllas i.');
  assert.is(await selectedLabel(responsible), 'Anna Testsson (ANNA)');
  assert.is(await customer.inputValue(), 'K1001');
  assert.is(await selectedLabel(contact), 'Per Persson <per@acme.se>');
  assert.is(await selectedLabel(status), 'Öppen');
  assert.is(await selectedLabel(type), 'Fråga');
  assert.is(await selectedLabel(priority), 'Normal');
  assert.is(plain(await text.textContent()), 'Skrivaren fastnar i fack 2.');
  assert.is(await text.locator('strong').textContent(), 'fastnar', 'the formatting is kept too');

  await title.fill('Skrivaren fastnar');
  await page.getByRole('button', { name: 'Spara', exact: true }).click();
  await page.waitForURL((url) => /^\/cases\/[^/]+$/.test(url.pathname) && url.pathname !== '/cases/new');
  const created = await ctx.db
    .selectFrom('cases')
    .select(['number', 'title'])
    .where('title', '=', 'Skrivaren fastnar')
    .executeTakeFirstOrThrow();
  const caseUrl = `${base}/cases/${created.number}`;
  assert.is(page.url(), caseUrl);
  await page.getByText(`Ärende ${created.number} har skapats.`).waitFor();
  await page.getByRole('heading', { name: `${created.number} Skrivaren fastnar` }).waitFor();
  const entries = page.locator('ol.thread > li');
  assert.is(await entries.count(), 1);
  assert.is(plain(await entries.first().locator('.rich-text').textContent()), 'Skrivaren fastnar i fack 2.');
  assert.is(await entries.first().locator('.rich-text strong').textContent(), 'fastnar');
  assert.match(String(await entries.first().textContent()), 'Per Persson');

  // The new case is found at once by a word of its text, in everyone's cases (it is ANNA's).
  await page.goto(`${base}/cases?resp=any`);
  await page.getByRole('searchbox', { name: 'Sök' }).fill('fack');
  await page.waitForURL(`${base}/cases?resp=any&q=fack`);
  await page.getByRole('table').getByRole('link', { name: created.number, exact: true }).waitFor();
  await page.goto(caseUrl);

  // (b) A canned reply goes into the reply where the cursor is.
  const reply = page.getByRole('textbox', { name: 'Svar till kunden' });
  const canned = page.getByRole('combobox', { name: 'Svarstext', exact: true });
  assert.is(
    await page.getByRole('textbox', { name: 'Till', exact: true }).inputValue(),
    'per@acme.se',
    "to the case's contact",
  );
  await reply.click();
  await page.keyboard.type('Hej Per!');
  await settle(page);
  await page.keyboard.press('Enter');
  await settle(page);
  await canned.selectOption({ label: 'Tack' });
  await page.waitForFunction(() => document.querySelector('form.reply-box trix-editor')?.textContent?.includes('Tack'));
  assert.is(await selectedLabel(canned), 'Infoga en svarstext…', 'the picker is ready for the next one');
  // The editor has the focus back, with the cursor after the inserted text.
  await settle(page);
  await page.keyboard.type(' Vi skickar en ny.');
  // Line by line: the canned text starts on the line the cursor was on.
  const lines = (rich: Locator) =>
    rich.evaluate((element) =>
      (element.querySelector('div') ?? element).innerHTML
        .replace(/<!--block-->/g, '')
        .split('<br>')
        .map((line) => line.replace(/&nbsp;/g, ' ')),
    );
  const written = ['Hej Per!', 'Tack för ditt mejl! Vi skickar en ny.'];
  assert.equal(await lines(reply), written);
  await settle(page);
  await page.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await page.getByText('Svaret har sparats.').waitFor();
  assert.is(await entries.count(), 2);
  const answer = entries.first();
  assert.ok(await answer.evaluate((li) => li.classList.contains('staff')), 'on the staff side');
  assert.match(String(await answer.textContent()), 'Kalle Testsson');
  // held for Undo, counting down (or, on a slow machine, already past it)
  assert.match(String(await answer.textContent()), /Skickas om \d+ s|Ska skickas/);
  assert.equal(await lines(answer.locator('.rich-text')), written);
  assert.is(await reply.textContent(), '', 'the reply box is empty again');

  // (c) The internal note: an htmx tab switch, Ctrl+D stamps the date and name, Ctrl+S saves.
  await page.evaluate(() => {
    (window as unknown as { __marker: number }).__marker = 1;
  });
  const tabs = page.getByRole('navigation', { name: 'Ärendets flikar' });
  await tabs.getByRole('link', { name: 'Internt', exact: true }).click();
  await page.waitForURL(`${caseUrl}/internal`);
  const note = page.getByLabel('Intern anteckning');
  await note.waitFor();
  assert.is(
    await page.evaluate(() => (window as unknown as { __marker?: number }).__marker),
    1,
    'the tab came without a page load',
  );
  assert.is(await tabs.getByRole('link', { name: 'Internt', exact: true }).getAttribute('aria-current'), 'page');
  await note.focus();
  await page.keyboard.press('Control+D');
  const stamp = `${today()} Kalle Testsson: `;
  assert.is(await note.inputValue(), stamp);
  await page.keyboard.type('Ringde Per, ny toner skickas.');
  await page.keyboard.press('Control+S');
  await page.getByText('Sparat.').waitFor();
  assert.is(page.url(), `${caseUrl}/internal`);
  await page.reload();
  assert.is(await page.getByLabel('Intern anteckning').inputValue(), `${stamp}Ringde Per, ny toner skickas.`);

  // (d) The header: a new priority saved with F2 is in the history, old and new.
  await priority.selectOption({ label: 'Hög' });
  await page.keyboard.press('F2');
  await page.waitForURL(caseUrl);
  await page.getByText('Sparat.').waitFor();
  assert.is(await selectedLabel(priority), 'Hög');
  await tabs.getByRole('link', { name: 'Historik', exact: true }).click();
  await page.waitForURL(`${caseUrl}/history`);
  const change = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Prioritet', exact: true }) });
  await change.waitFor();
  const cells = (await change.getByRole('cell').allTextContents()).map(plain);
  assert.equal(cells.slice(1), ['Kalle Testsson', 'Prioritet', 'Normal', 'Hög']);

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
