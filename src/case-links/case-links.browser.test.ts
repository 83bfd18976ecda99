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

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  server: TestServer;
  browser: TestBrowser;
  printer: Case;
  toner: Case;
};
const test = needs('chromium', suite('Linking two cases on the case page, in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE');
  const { customer } = await seedAcme(t.db);
  ctx.printer = await seedPrinterJamCase(t.db, kalle, customer.id);
  ctx.toner = await seedPrinterJamCase(t.db, kalle, customer.id, undefined, { title: 'Tonern är slut' });
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

test('KALLE links the toner case as a child of the printer case and sees the link on both', async () => {
  const { page, problems } = ctx.browser;
  await logInThroughForm(page, ctx.server.url, 'kalle');
  await page.goto(`${ctx.server.url}/cases/${ctx.printer.number}`);
  const linked = page.getByRole('region', { name: 'Länkade ärenden' });
  await linked.getByText('Inga länkade ärenden.').waitFor();

  await linked.getByLabel('Ärendenummer').fill(ctx.toner.number);
  await linked.getByLabel('Typ av länk').selectOption({ label: 'Underordnat detta ärende' });
  await linked.getByRole('button', { name: 'Länka ett ärende' }).click();
  await page.getByText(`Ärende ${ctx.toner.number} är länkat.`).waitFor();
  const child = linked.getByRole('listitem').filter({ hasText: 'Tonern är slut' });
  assert.match((await child.textContent()) ?? '', 'Underordnat ärende');

  // a second click on the same link: one link, and a message saying so
  await linked.getByLabel('Ärendenummer').fill(ctx.toner.number);
  await linked.getByLabel('Typ av länk').selectOption({ label: 'Underordnat detta ärende' });
  await linked.getByRole('button', { name: 'Länka ett ärende' }).click();
  await page.getByText(`Ärende ${ctx.toner.number} är redan länkat till det här ärendet.`).waitFor();
  assert.is(await linked.getByRole('listitem').count(), 1);

  // over to the other case by the link itself
  await linked.getByRole('link', { name: new RegExp(`${ctx.toner.number} Tonern är slut`) }).click();
  await page.waitForURL(`**/cases/${ctx.toner.number}`);
  const there = page.getByRole('region', { name: 'Länkade ärenden' });
  const parent = there.getByRole('listitem').filter({ hasText: 'Skrivaren fastnar' });
  assert.match((await parent.textContent()) ?? '', 'Överordnat ärende');
  await there.getByRole('link', { name: new RegExp(ctx.printer.number) }).waitFor();

  // and removed from there, gone from both
  await there.getByRole('button', { name: `Ta bort länken till ${ctx.printer.number}` }).click();
  await page.getByText(`Länken till ${ctx.printer.number} är borttagen.`).waitFor();
  await there.getByText('Inga länkade ärenden.').waitFor();
  await page.goto(`${ctx.server.url}/cases/${ctx.printer.number}`);
  await linked.getByText('Inga länkade ärenden.').waitFor();
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
