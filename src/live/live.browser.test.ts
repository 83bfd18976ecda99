import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, seedUser } from '../test-support/app.ts';
import { launchBrowser, logInThroughForm, type TestBrowser } from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { needs } from '../test-support/system-packages.ts';

// Two agents, two browsers, two app instances on one database (issue 18, part 2): ANNA's quick
// edit on her instance shows on KALLE's overview on his without a reload, with the tiles, and
// giving him a case rings his bell.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  kalleApp: FastifyInstance;
  annaApp: FastifyInstance;
  kalleBase: string;
  annaBase: string;
  kalleBrowser: TestBrowser;
  annaBrowser: TestBrowser;
  kalle: User;
  kase: Case;
  customer: { customerId: number; contactId: number };
};
const test = needs('chromium', suite('Live overview and bell, KALLE and ANNA on two instances'));

const listen = async (app: FastifyInstance) => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
};

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.kalle = await seedUser(t.db, 'KALLE', 'agent');
  await seedUser(t.db, 'ANNA', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, ctx.kalle, customer.id, contact.id);
  ctx.customer = { customerId: customer.id, contactId: contact.id };
  await seedPrinterJamCase(t.db, ctx.kalle, customer.id, contact.id, { title: 'Tonern är slut' });
  ctx.kalleApp = await buildTestApp(t.db);
  ctx.annaApp = await buildTestApp(t.db);
  ctx.kalleBase = await listen(ctx.kalleApp);
  ctx.annaBase = await listen(ctx.annaApp);
  ctx.kalleBrowser = await launchBrowser({ locale: 'sv-SE' });
  ctx.annaBrowser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.kalleBrowser?.close();
  await ctx.annaBrowser?.close();
  await ctx.kalleApp?.close();
  await ctx.annaApp?.close();
  await ctx.drop?.();
});

test('ANNA’s quick edit shows on KALLE’s overview without a reload, and KALLE’s bell rings when she gives him a case', async () => {
  const kalle = ctx.kalleBrowser.page;
  const anna = ctx.annaBrowser.page;
  await logInThroughForm(kalle, ctx.kalleBase, 'kalle');
  await kalle.waitForURL(`${ctx.kalleBase}/cases`);
  await logInThroughForm(anna, ctx.annaBase, 'anna', { next: '/cases?resp=any' });
  await anna.waitForURL(`${ctx.annaBase}/cases?resp=any`);
  // KALLE has typed in the search box: a live update must not take that from him
  await kalle.getByLabel('Sök').fill('skriv');
  const marker = await kalle.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
    return true;
  });
  assert.ok(marker);

  const number = ctx.kase.number;
  const waitingTile = kalle.locator('[data-tile="waiting"]');
  const waitingBefore = Number(await waitingTile.textContent());
  await anna
    .getByRole('combobox', { name: `Status för ${number}`, exact: true })
    .selectOption({ label: 'Väntar på kund' });
  await anna.getByRole('status').getByText(`${number} sparat.`, { exact: true }).waitFor();

  // on KALLE's page, within 2 s: the row's status and the Waiting tile
  await kalle.waitForFunction(
    ({ number }) => {
      const select = [...document.querySelectorAll('select')].find(
        (s) => s.getAttribute('aria-label') === `Status för ${number}`,
      );
      return select?.selectedOptions[0]?.textContent === 'Väntar på kund';
    },
    { number },
    { timeout: 2_000 },
  );
  await kalle.waitForFunction(
    (before) => Number(document.querySelector('[data-tile="waiting"]')?.textContent) === before + 1,
    waitingBefore,
    {
      timeout: 2_000,
    },
  );
  assert.is(
    await kalle.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
    true,
    'no reload',
  );
  assert.is(await kalle.getByLabel('Sök').inputValue(), 'skriv', 'what he typed is still there');

  // ANNA gives KALLE the other case: his bell rings without a reload
  await anna.goto(`${ctx.annaBase}/cases?resp=any&q=Tonern`);
  const toner = await ctx.db
    .selectFrom('cases')
    .select('number')
    .where('title', '=', 'Tonern är slut')
    .executeTakeFirstOrThrow();
  await ctx.db.updateTable('cases').set({ responsible_id: null }).where('number', '=', toner.number).execute();
  await anna.reload();
  const picker = anna.getByRole('combobox', { name: `Ansvarig för ${toner.number}`, exact: true });
  // the colleagues are loaded when the picker is about to be used
  await picker.focus();
  await picker.locator('option', { hasText: 'Kalle Testsson' }).waitFor({ state: 'attached' });
  await picker.selectOption({ label: 'Kalle Testsson' });
  await picker.blur();
  await anna.getByRole('status').getByText(`${toner.number} sparat.`, { exact: true }).waitFor();
  await kalle.getByRole('link', { name: /Notiser \(1 oläst notis\)/ }).waitFor({ timeout: 2_000 });

  assert.equal(ctx.kalleBrowser.problems, [], 'no script errors or CSP refusals for KALLE');
  assert.equal(ctx.annaBrowser.problems, [], 'no script errors or CSP refusals for ANNA');
});

test('a new case of KALLE’s made elsewhere: his list says so and shows it at a click, without rebuilding under him', async () => {
  const kalle = ctx.kalleBrowser.page;
  await kalle.goto(`${ctx.kalleBase}/cases`);
  const mine = kalle.locator('[data-tile="mine"]');
  const before = Number(await mine.textContent());
  const rowsBefore = await kalle.locator('tr[id^="case-row-"]').count();
  const fresh = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customer.customerId, ctx.customer.contactId, {
    title: 'Kopiatorn piper',
  });
  const note = kalle.getByRole('link', { name: 'Fler ärenden hör till listan nu. Visa dem' });
  await note.waitFor({ timeout: 2_000 });
  assert.is(Number(await mine.textContent()), before + 1, 'the tile counts it');
  assert.is(await kalle.locator('tr[id^="case-row-"]').count(), rowsBefore, 'the rows stay as they were');
  await note.click();
  await kalle.getByRole('link', { name: fresh.number, exact: true }).waitFor();
  assert.is(await note.count(), 0, 'the note is gone with the old list');
  assert.equal(ctx.kalleBrowser.problems, [], 'no script errors or CSP refusals for KALLE');
});

test.run();
