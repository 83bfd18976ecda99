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
import { addStaffReply } from '../threads/threads.ts';
import { createCase } from './cases.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  server: TestServer;
  browser: TestBrowser;
  // Case numbers by who has them.
  kalleOpen: [string, string];
  kalleClosed: string;
  annas: string;
  unassigned: string;
};
const test = needs('chromium', suite('The case overview in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE');
  const anna = await seedUser(t.db, 'ANNA');
  const { customer } = await seedAcme(t.db);
  const id = async (table: 'case_statuses' | 'case_types', name: string) =>
    (await t.db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  const open = await id('case_statuses', 'Öppen');
  const closed = await id('case_statuses', 'Stängd');
  const support = await id('case_types', 'Support');
  const seedCase = async (title: string, responsible: User, status = open) =>
    createCase(
      t.db,
      {
        title,
        responsible_id: responsible.id,
        customer_id: customer.id,
        status_id: status,
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
  const first = await seedCase('Skrivaren fastnar', kalle);
  const second = await seedCase('Lösenordet har gått ut', kalle);
  ctx.kalleOpen = [first.number, second.number];
  ctx.kalleClosed = (await seedCase('Gammal faktura', kalle, closed)).number;
  const annas = await seedCase('Utskrifterna blir randiga', anna);
  await addStaffReply(
    t.db,
    annas.id,
    { body_html: '<div>Kontrollera om tonerkassetten läcker.</div>', delivery: 'saved' },
    anna,
  );
  ctx.annas = annas.number;
  const nobodys = await seedCase('Ny skärm behövs', kalle);
  await t.db.updateTable('cases').set({ responsible_id: null }).where('id', '=', nobodys.id).execute();
  ctx.unassigned = nobodys.number;
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

// The case numbers the result table lists, in its order.
const listed = (page: Page) =>
  page
    .getByRole('table', { name: 'Ärenden som matchar filtret' })
    .getByRole('link', { name: /^\d{4}-\d+$/ })
    .allTextContents();
const sorted = (numbers: string[]) => [...numbers].sort();

const tiles = (page: Page) => page.getByRole('navigation', { name: 'Statistik' });
const tile = (page: Page, label: string) => tiles(page).getByRole('link', { name: new RegExp(`^\\d+ ${label}$`) });
const tileCount = async (page: Page, label: string) =>
  Number(/\d+/.exec(String(await tile(page, label).textContent()))?.[0]);

// A mark on the window that only a full page load wipes out.
const setMarker = (page: Page) =>
  page.evaluate(() => {
    (window as unknown as { __marker: number }).__marker = 1;
  });
const marker = (page: Page) => page.evaluate(() => (window as unknown as { __marker?: number }).__marker);

// A case's status and priority as stored.
const stored = async (number: string) => {
  const row = await ctx.db
    .selectFrom('cases as c')
    .innerJoin('case_statuses as s', 's.id', 'c.status_id')
    .leftJoin('priorities as p', 'p.id', 'c.priority_id')
    .select(['s.name as status', 'p.name as priority'])
    .where('c.number', '=', number)
    .executeTakeFirstOrThrow();
  return { status: row.status, priority: row.priority };
};

test('KALLE filters with the tiles, edits rows in place and finds a colleague’s case by its text', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  const [first, second] = ctx.kalleOpen;

  await logInThroughForm(page, base, 'kalle');
  await page.waitForURL(`${base}/cases`);

  // His own open cases only: not the closed one, not ANNA's, not the unassigned one.
  await page.getByRole('heading', { name: 'Ärenden', exact: true }).waitFor();
  assert.equal(sorted(await listed(page)), sorted([first, second]));
  assert.is(await tileCount(page, 'Mina öppna'), 2);
  assert.is(await tile(page, 'Mina öppna').getAttribute('aria-current'), 'true');
  assert.is(await tileCount(page, 'Utan ansvarig'), 1);
  assert.is(await tileCount(page, 'Väntar på kund'), 0);

  // A tile is a filter.
  await tile(page, 'Utan ansvarig').click();
  await page.waitForURL(`${base}/cases?resp=unassigned`);
  assert.equal(await listed(page), [ctx.unassigned]);
  assert.is(await tile(page, 'Utan ansvarig').getAttribute('aria-current'), 'true');
  assert.is(await tile(page, 'Mina öppna').getAttribute('aria-current'), null);
  assert.is(await page.getByRole('combobox', { name: 'Ansvarig', exact: true }).inputValue(), 'unassigned');

  await tile(page, 'Mina öppna').click();
  await page.waitForURL(`${base}/cases`);
  assert.equal(sorted(await listed(page)), sorted([first, second]));

  // Arrow keys on a row's status walk the options without saving each one, and the focus stays on
  // the picker; Enter saves in place (no page load) and the focus is back on the swapped row's picker.
  await setMarker(page);
  const statusLabel = `Status för ${first}`;
  const status = page.getByRole('combobox', { name: statusLabel, exact: true });
  await status.focus();
  await page.keyboard.press('ArrowDown');
  assert.is(await status.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent), 'Väntar på kund');
  await page.waitForTimeout(700);
  assert.is(await page.getByRole('status').getByText(`${first} sparat.`).count(), 0, 'ArrowDown does not save');
  assert.equal(await stored(first), { status: 'Öppen', priority: null }, 'nothing stored yet');
  assert.ok(await status.evaluate((s) => s === document.activeElement), 'the focus stays on the picker');
  await page.keyboard.press('Enter');
  await page.getByRole('status').getByText(`${first} sparat.`, { exact: true }).waitFor();
  assert.is((await stored(first)).status, 'Väntar på kund', 'Enter saves');
  await page.waitForFunction((label) => document.activeElement?.getAttribute('aria-label') === label, statusLabel);
  assert.is(await marker(page), 1, 'no page load');

  // Leaving a picker after walking its options saves them too.
  await page.keyboard.press('Tab');
  const priority = page.getByRole('combobox', { name: `Prioritet för ${first}`, exact: true });
  assert.ok(await priority.evaluate((s) => s === document.activeElement), 'Tab goes on to the priority');
  await page.keyboard.press('ArrowDown');
  const chosenPriority = await priority.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent);
  await page.waitForTimeout(700);
  assert.is((await stored(first)).priority, null, 'ArrowDown does not save the priority either');
  const saved = page.waitForResponse((response) => response.url().endsWith(`/cases/${first}/quick-edit`));
  await page.keyboard.press('Tab');
  assert.is((await saved).status(), 200);
  assert.is((await stored(first)).priority, chosenPriority, 'leaving the picker saves it');
  assert.is(
    await page
      .getByRole('combobox', { name: statusLabel, exact: true })
      .evaluate((select: HTMLSelectElement) => select.selectedOptions[0]?.textContent),
    'Väntar på kund',
  );
  assert.is(await tileCount(page, 'Väntar på kund'), 1);
  assert.is(await tileCount(page, 'Mina öppna'), 2, 'waiting is still open');

  // The responsible picker loads the colleagues when it is about to be used.
  const responsible = page.getByRole('combobox', { name: `Ansvarig för ${second}`, exact: true });
  assert.is(await responsible.locator('option', { hasText: 'Anna Testsson' }).count(), 0);
  await responsible.hover();
  await responsible.locator('option', { hasText: 'Anna Testsson' }).waitFor({ state: 'attached' });
  await responsible.selectOption({ label: 'Anna Testsson' });
  await page.getByRole('status').getByText(`${second} sparat.`, { exact: true }).waitFor();
  assert.is(await marker(page), 1, 'no page load');
  assert.is(await tileCount(page, 'Mina öppna'), 1);

  // After a reload the case is gone from "mine", and the status change is kept.
  await page.reload();
  assert.equal(await listed(page), [first]);
  assert.is(await tileCount(page, 'Mina öppna'), 1);
  assert.is(
    await page
      .getByRole('combobox', { name: `Status för ${first}`, exact: true })
      .evaluate((select: HTMLSelectElement) => select.selectedOptions[0]?.textContent),
    'Väntar på kund',
  );

  // Everyone's cases, searched by a word in a thread: the results change in place.
  await setMarker(page);
  await page.getByRole('combobox', { name: 'Ansvarig', exact: true }).selectOption({ label: 'Alla' });
  await page.waitForURL(`${base}/cases?resp=any`);
  await page.getByRole('table').getByRole('link', { name: ctx.unassigned, exact: true }).waitFor();
  assert.equal(sorted(await listed(page)), sorted([first, second, ctx.annas, ctx.unassigned]));
  await page.getByRole('searchbox', { name: 'Sök' }).fill('tonerkassetten');
  await page.waitForURL(`${base}/cases?resp=any&q=tonerkassetten`);
  await page.getByRole('table').getByRole('link', { name: first, exact: true }).waitFor({ state: 'detached' });
  assert.equal(await listed(page), [ctx.annas]);
  assert.is(await marker(page), 1, 'filtered without a page load');

  // "Save view" keeps the filter on screen, not the one the page was loaded with.
  await page.getByRole('textbox', { name: 'Namn på vyn' }).fill('Toner');
  await page.getByRole('button', { name: 'Spara vy', exact: true }).click();
  await page.getByText('Vyn "Toner" har sparats.').waitFor();
  assert.is(page.url(), `${base}/cases?resp=any&q=tonerkassetten`);
  assert.equal(await listed(page), [ctx.annas]);
  await page.getByRole('link', { name: 'Mina öppna' }).click();
  await page.waitForURL(`${base}/cases`);
  await page.getByRole('link', { name: 'Toner', exact: true }).click();
  await page.waitForURL(`${base}/cases?resp=any&q=tonerkassetten`);
  assert.equal(await listed(page), [ctx.annas]);

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test('an agent opens a row’s status picker with the mouse, picks a status, and the row and tiles show it', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  const loaded = page.waitForResponse((response) => response.url() === `${base}/cases?resp=any`);
  await page.goto(`${base}/cases?resp=any`);
  // The page sends each list once, not once per row (views/cases/index/_row.eta).
  const html = await (await loaded).text();
  const rows = html.slice(html.indexOf('<tbody'), html.indexOf('</tbody>'));
  assert.ok(rows.includes(ctx.unassigned) && !rows.includes('<option'), 'the lists are not repeated per row');
  await setMarker(page);
  const waitingBefore = await tileCount(page, 'Väntar på kund');
  const status = page.getByRole('combobox', { name: `Status för ${ctx.unassigned}`, exact: true });
  await status.click();
  assert.equal(
    await status.locator('option').allTextContents(),
    ['Öppen', 'Väntar på kund', 'Till uppdrag', 'Stängd'],
    'the whole list when opened',
  );
  await status.selectOption({ label: 'Väntar på kund' });
  await page.getByRole('status').getByText(`${ctx.unassigned} sparat.`, { exact: true }).waitFor();
  assert.is((await stored(ctx.unassigned)).status, 'Väntar på kund');
  const saved = page.getByRole('combobox', { name: `Status för ${ctx.unassigned}`, exact: true });
  assert.is(await saved.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent), 'Väntar på kund');
  assert.is(await saved.locator('option').count(), 4, 'the swapped row’s picker has its list too');
  assert.is(await tileCount(page, 'Väntar på kund'), waitingBefore + 1);
  assert.is(await marker(page), 1, 'no page load');
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test('Escape on a row picker puts back the saved value, and leaving the picker afterwards saves nothing', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  await page.goto(`${base}/cases?resp=any`);
  const storedType = async () =>
    (
      await ctx.db
        .selectFrom('cases as c')
        .innerJoin('case_types as t', 't.id', 'c.case_type_id')
        .select('t.name')
        .where('c.number', '=', ctx.annas)
        .executeTakeFirstOrThrow()
    ).name;
  const shown = (select: Locator) => select.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent);
  const posts: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/quick-edit')) posts.push(request.url());
  });
  const type = page.getByRole('combobox', { name: `Ärendetyp för ${ctx.annas}`, exact: true });
  assert.is(await shown(type), 'Support');
  await type.focus();
  await page.keyboard.press('ArrowDown');
  assert.is.not(await shown(type), 'Support', 'ArrowDown shows the next type');
  await page.keyboard.press('Escape');
  assert.is(await shown(type), 'Support', 'Escape puts back the saved type');
  await page.keyboard.press('Tab');
  await page.getByRole('heading', { name: 'Ärenden', exact: true }).click();
  await page.waitForTimeout(700);
  assert.equal(posts, [], 'leaving the picker after Escape sends nothing');
  assert.is(await storedType(), 'Support', 'nothing stored');
  assert.is(await shown(type), 'Support');
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test('a second status picked while the first is still being saved is the one stored and shown', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  const number = ctx.kalleOpen[1];
  // A slow round trip, so the second choice is made while the first save is in flight.
  await page.route('**/quick-edit', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 700));
    await route.continue();
  });
  try {
    await page.goto(`${base}/cases?resp=any`);
    const first = (await stored(number)).status === 'Väntar på kund' ? 'Öppen' : 'Väntar på kund';
    const status = page.getByRole('combobox', { name: `Status för ${number}`, exact: true });
    const sent = page.waitForRequest((request) => request.url().endsWith(`/cases/${number}/quick-edit`));
    await status.selectOption({ label: first });
    await sent;
    await status.selectOption({ label: 'Stängd' });
    const deadline = Date.now() + 8000;
    while ((await stored(number)).status !== 'Stängd' && Date.now() < deadline) await page.waitForTimeout(100);
    assert.is((await stored(number)).status, 'Stängd', 'the last choice is stored');
    const shown = page.getByRole('combobox', { name: `Status för ${number}`, exact: true });
    await page
      .waitForFunction(
        (label) =>
          document.querySelector<HTMLSelectElement>(`select[aria-label="${label}"]`)?.selectedOptions[0]
            ?.textContent === 'Stängd',
        `Status för ${number}`,
        { timeout: 5000 },
      )
      .catch(() => undefined);
    assert.is(await shown.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent), 'Stängd', 'and shown');
    await page.waitForTimeout(900);
    assert.is((await stored(number)).status, 'Stängd', 'nothing after it puts the first back');
    assert.equal(problems, [], 'no script errors or CSP refusals on the way');
  } finally {
    await page.unroute('**/quick-edit');
  }
});

test.run();
