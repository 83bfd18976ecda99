import type { Locator, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
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
import { createCase } from './cases.ts';

// A phone held upright (an iPhone 12–15): 390 CSS pixels wide.
const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 800 };

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  server: TestServer;
  browser: TestBrowser;
  // KALLE's open cases, with the due date each shows (Swedish short date).
  cases: { number: string; due: string }[];
};
const test = needs('chromium', suite('The overview and a case page on a 390 px phone'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  // An admin, so the top navigation has all its links (Registervård is the longest).
  const kalle = await seedUser(t.db, 'KALLE', 'admin');
  await seedUser(t.db, 'ANNA');
  const { customer, contact } = await seedAcme(t.db);
  await t.db
    .updateTable('customers')
    .set({ name: 'Aktiebolaget Skandinaviska Kontorsmaskiner och Förbrukningsmaterial' })
    .where('id', '=', customer.id)
    .execute();
  const id = async (table: 'case_statuses' | 'case_types' | 'priorities', name: string) =>
    (await t.db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  const open = await id('case_statuses', 'Öppen');
  const support = await id('case_types', 'Support');
  const priority = await id('priorities', 'Normal');
  const seedCase = (title: string, responsible: User, due: string) =>
    createCase(
      t.db,
      {
        title,
        responsible_id: responsible.id,
        customer_id: customer.id,
        status_id: open,
        case_type_id: support,
        priority_id: priority,
        due_date: due,
        contact_id: contact.id,
        contact_name: null,
        contact_email: null,
        contact_phone: null,
        body_html: `<div>${title}.</div>`,
      },
      responsible,
    );
  ctx.cases = [];
  for (const [title, due] of [
    ['Skrivaren fastnar', '2020-01-15'],
    [
      'Skrivaren på tredje våningen drar in flera ark samtidigt och säger sedan att pappersfacket är tomt',
      '2099-03-01',
    ],
    ['Lösenordet har gått ut', '2099-12-31'],
  ] as const) {
    const kase = await seedCase(title, kalle, due);
    ctx.cases.push({ number: kase.number, due });
  }
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
  await logInThroughForm(ctx.browser.page, ctx.server.url, 'kalle');
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

// How wide the page can be scrolled: more than the viewport means sideways scrolling.
const scrollWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

// The element is on screen horizontally: its box lies between 0 and the viewport's width.
async function assertWithinWidth(locator: Locator, what: string, width = phone.width) {
  const box = await locator.boundingBox();
  assert.ok(box, `${what} is shown`);
  assert.ok(
    box.x >= 0 && box.x + box.width <= width,
    `${what} lies within 0..${width} (it spans ${Math.round(box.x)}..${Math.round(box.x + box.width)})`,
  );
}

const results = (page: Page) => page.getByRole('table', { name: 'Ärenden som matchar filtret' });
const caseRow = (page: Page, number: string) =>
  results(page)
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: number, exact: true }) });

test('on a phone the overview is a stack of cards whose status, responsible and due date show without sideways scrolling', async () => {
  const { page, problems } = ctx.browser;
  await page.setViewportSize(phone);
  await page.goto(`${ctx.server.url}/cases`);
  await page.getByRole('heading', { name: 'Ärenden', exact: true }).waitFor();
  await page.screenshot({ path: '/tmp/narrow-overview-390.png', fullPage: true });

  assert.ok((await scrollWidth(page)) <= phone.width, `no sideways scroll (scrollWidth ${await scrollWidth(page)})`);
  // Still a table to a screen reader, with its column headers.
  assert.is(await results(page).getByRole('columnheader', { name: 'Status' }).count(), 1);

  for (const { number, due } of ctx.cases) {
    const row = caseRow(page, number);
    await assertWithinWidth(row.getByRole('link', { name: number, exact: true }), `${number}'s number`);
    await assertWithinWidth(
      page.getByRole('combobox', { name: `Status för ${number}`, exact: true }),
      `${number}'s status`,
    );
    await assertWithinWidth(
      page.getByRole('combobox', { name: `Ansvarig för ${number}`, exact: true }),
      `${number}'s responsible`,
    );
    await assertWithinWidth(row.getByText(due), `${number}'s due date`);
  }
  // The small labels are for the eye: a screen reader hears the cell's own text.
  const later = ctx.cases[2] ?? { number: '', due: '' };
  assert.is(
    await caseRow(page, later.number).getByRole('cell', { name: later.due, exact: true }).count(),
    1,
    'the due date cell is named by its date alone',
  );
  // One card under another, not side by side.
  const [first, second] = ctx.cases;
  const firstBox = await caseRow(page, String(first?.number)).boundingBox();
  const secondBox = await caseRow(page, String(second?.number)).boundingBox();
  assert.ok(firstBox && secondBox && firstBox.y + firstBox.height <= secondBox.y + 1, 'cards are stacked');

  // The statistic tiles wrap onto more lines instead of running off to the right.
  const tiles = page.getByRole('navigation', { name: 'Statistik' }).getByRole('link');
  for (const tile of await tiles.all()) await assertWithinWidth(tile, `tile ${await tile.textContent()}`);

  // Every filter fits.
  const filter = page.getByRole('search', { name: 'Filtrera ärenden' });
  for (const label of [
    'Sök',
    'Ansvarig',
    'Status',
    'Exakt status',
    'Ärendetyp',
    'Prioritet',
    'Kundnummer',
    'Färdig senast',
  ]) {
    await assertWithinWidth(filter.getByLabel(label, { exact: true }), `filter ${label}`);
  }
  await assertWithinWidth(filter.getByRole('button', { name: 'Filtrera' }), 'the filter button');

  // The top navigation and the user menu stay usable.
  const nav = page.getByRole('navigation', { name: 'Huvudmeny' });
  for (const link of ['Ärenden', 'Kunder', 'Arbetsordrar', 'Projekt', 'Registervård']) {
    await assertWithinWidth(nav.getByRole('link', { name: link, exact: true }), `menu link ${link}`);
  }
  await page.getByLabel('Användarmeny').click();
  await assertWithinWidth(page.getByRole('button', { name: 'Logga ut' }), 'Logga ut');
  await assertWithinWidth(page.getByRole('button', { name: 'English' }), 'the language switch');
  await page.screenshot({ path: '/tmp/narrow-user-menu-390.png' });
  await page.getByLabel('Användarmeny').click();

  // A row picker still saves in place on a card, and the swapped-in row is a card too.
  const number = String(second?.number);
  await page
    .getByRole('combobox', { name: `Status för ${number}`, exact: true })
    .selectOption({ label: 'Väntar på kund' });
  await page.getByRole('status').getByText(`${number} sparat.`, { exact: true }).waitFor();
  const stored = await ctx.db
    .selectFrom('cases as c')
    .innerJoin('case_statuses as s', 's.id', 'c.status_id')
    .select('s.name')
    .where('c.number', '=', number)
    .executeTakeFirstOrThrow();
  assert.is(stored.name, 'Väntar på kund');
  await assertWithinWidth(
    page.getByRole('combobox', { name: `Status för ${number}`, exact: true }),
    'the saved status',
  );
  await assertWithinWidth(caseRow(page, number).getByText(String(second?.due)), 'the saved due date');
  // The responsible picker loads the colleagues on touch, and a choice saves.
  const responsible = page.getByRole('combobox', { name: `Ansvarig för ${number}`, exact: true });
  await responsible.focus();
  await responsible.locator('option', { hasText: 'Anna Testsson' }).waitFor({ state: 'attached' });
  await responsible.selectOption({ label: 'Anna Testsson' });
  await page.getByRole('status').getByText(`${number} sparat.`, { exact: true }).waitFor();
  assert.ok((await scrollWidth(page)) <= phone.width, 'no sideways scroll after the swap');
  await page.screenshot({ path: '/tmp/narrow-overview-390-after-edit.png', fullPage: true });

  assert.equal(problems, [], 'no script errors or CSP refusals');
});

test('on a phone the case page and its editors fit the width, and a reply is written and sent', async () => {
  const { page, problems } = ctx.browser;
  await page.setViewportSize(phone);
  const number = String(ctx.cases[1]?.number);
  await page.goto(`${ctx.server.url}/cases/${number}`);
  const editor = page.getByLabel('Svar till kunden');
  await editor.waitFor();
  await page.screenshot({ path: '/tmp/narrow-case-390.png', fullPage: true });
  assert.ok((await scrollWidth(page)) <= phone.width, `no sideways scroll (scrollWidth ${await scrollWidth(page)})`);

  const toolbar = page.locator('form.reply-box trix-toolbar');
  await assertWithinWidth(toolbar, 'the reply editor’s toolbar');
  await assertWithinWidth(editor, 'the reply editor');
  // Every toolbar button can be reached: on a row that wraps, or scrolled into view inside the
  // toolbar.
  for (const name of ['Fet', 'Kursiv', 'Länk', 'Punktlista', 'Numrerad lista', 'Bifoga filer', 'Ångra', 'Gör om']) {
    const button = toolbar.getByRole('button', { name, exact: true });
    await button.scrollIntoViewIfNeeded();
    await assertWithinWidth(button, `toolbar button ${name}`);
  }
  assert.ok((await scrollWidth(page)) <= phone.width, 'the toolbar scrolls inside itself, never the page');

  // The Manage menu opens inside the screen.
  await page.getByText('Hantera', { exact: true }).click();
  await assertWithinWidth(page.getByRole('link', { name: 'Skapa arbetsorder' }), 'the Manage menu');
  await assertWithinWidth(page.locator('.case-toolbar .menu-panel'), 'the whole Manage menu panel');
  await page.screenshot({ path: '/tmp/narrow-case-manage-390.png' });
  await page.getByText('Hantera', { exact: true }).click();

  await editor.click();
  await page.keyboard.type('Hej Per! Prova att lufta pappersbunten innan du lägger i den.');
  await page.getByLabel('Skicka till kunden nu').check();
  await page.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await page.locator('ol.thread').getByText('Hej Per! Prova att lufta pappersbunten innan du lägger i den.').waitFor();
  const reply = await ctx.db
    .selectFrom('thread_entries')
    .select(['body_html', 'delivery'])
    .where('body_html', 'like', '%lufta pappersbunten%')
    .executeTakeFirstOrThrow();
  assert.is(reply.delivery, 'to_send');
  assert.ok((await scrollWidth(page)) <= phone.width, 'no sideways scroll with the reply in the thread');
  await page.screenshot({ path: '/tmp/narrow-case-390-sent.png', fullPage: true });

  // The discussion's editor fits too.
  await page.getByRole('navigation', { name: 'Ärendets flikar' }).getByRole('link', { name: 'Diskussion' }).click();
  await page.getByLabel('Nytt inlägg').waitFor();
  await assertWithinWidth(page.locator('form.reply-box trix-toolbar'), 'the discussion editor’s toolbar');
  assert.ok((await scrollWidth(page)) <= phone.width, 'no sideways scroll on the discussion tab');
  await page.screenshot({ path: '/tmp/narrow-discussion-390.png', fullPage: true });

  // The other tabs fit as well.
  for (const [tab, path] of [
    ['Internt', 'internal'],
    ['Dokument', 'documents'],
    ['Historik', 'history'],
  ]) {
    const link = page.getByRole('navigation', { name: 'Ärendets flikar' }).getByRole('link', { name: tab });
    const loaded = page.waitForResponse((response) => response.url().endsWith(`/cases/${number}/${path}`));
    await link.click();
    await loaded;
    await page.waitForFunction((name) => document.querySelector('.tabs [aria-current]')?.textContent === name, tab);
    assert.ok((await scrollWidth(page)) <= phone.width, `no sideways scroll on the ${tab} tab`);
    await page.screenshot({ path: `/tmp/narrow-${tab}-390.png`, fullPage: true });
  }

  assert.equal(problems, [], 'no script errors or CSP refusals');
});

test('on a wide screen the overview stays a table with one line per case', async () => {
  const { page, problems } = ctx.browser;
  await page.setViewportSize(desktop);
  await page.goto(`${ctx.server.url}/cases`);
  await page.getByRole('heading', { name: 'Ärenden', exact: true }).waitFor();
  await page.screenshot({ path: '/tmp/narrow-overview-1280.png', fullPage: true });
  const header = results(page).getByRole('columnheader', { name: 'Status' });
  assert.ok(await header.isVisible(), 'the column headers show');
  const { number, due } = ctx.cases[0] ?? { number: '', due: '' };
  const row = caseRow(page, number);
  const link = await row.getByRole('link', { name: number, exact: true }).boundingBox();
  const date = await row.getByText(due).boundingBox();
  const middle = (box: { y: number; height: number }) => box.y + box.height / 2;
  assert.ok(link && date && Math.abs(middle(link) - middle(date)) < 8, 'number and due date on one line');
  assert.ok(date.x > link.x + 600, 'the due date far right of the number, in its column');
  await page.goto(`${ctx.server.url}/cases/${number}`);
  await page.getByLabel('Svar till kunden').waitFor();
  await page.screenshot({ path: '/tmp/narrow-case-1280.png', fullPage: true });
  assert.equal(problems, [], 'no script errors or CSP refusals');
});

test.run();
