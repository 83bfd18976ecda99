import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Case, User } from '../db/schema.ts';
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
import { notifyUser } from './notifications.ts';

const ctx = {} as {
  drop: () => Promise<void>;
  server: TestServer;
  browser: TestBrowser;
  kalle: User;
  anna: User;
  kase: Case;
};
const test = needs('chromium', suite('Notifications in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.drop = t.drop;
  ctx.kalle = await seedUser(t.db, 'KALLE');
  ctx.anna = await seedUser(t.db, 'ANNA');
  const { customer, contact } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, ctx.kalle, customer.id, contact.id);
  for (const [i, user] of [ctx.kalle, ctx.kalle, ctx.kalle, ctx.anna].entries()) {
    await notifyUser(
      t.db,
      {
        userId: user.id,
        actorId: ctx.anna.id,
        kind: 'assigned',
        caseId: ctx.kase.id,
        summary: `${ctx.kase.number} nummer ${i + 1}`,
        link: `/cases/${ctx.kase.number}`,
      },
      { config: undefined },
    );
  }
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

test('KALLE opens one notification from the bell, then marks the rest read at once', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  await logInThroughForm(page, base, 'kalle');
  const bell = page.getByRole('banner').locator('a.bell');
  const badge = bell.locator('.badge');
  assert.is(await badge.textContent(), '3');
  await page.getByRole('link', { name: 'Notiser (3 olästa notiser)', exact: true }).waitFor();

  await bell.click();
  await page.waitForURL(`${base}/notifications`);
  await page.getByRole('heading', { name: 'Notiser', level: 1 }).waitFor();
  await page.getByRole('button', { name: /nummer 2$/ }).click();
  await page.waitForURL(`${base}/cases/${ctx.kase.number}`);
  assert.is(await badge.textContent(), '2', 'one read');

  await page.goBack();
  await page.waitForURL(`${base}/notifications`);
  // Back to the list: opening the same one again leads to it and changes nothing.
  await page.getByRole('button', { name: /nummer 2$/ }).click();
  await page.waitForURL(`${base}/cases/${ctx.kase.number}`);
  assert.is(await badge.textContent(), '2', 'still two unread');

  await bell.click();
  await page.getByRole('button', { name: 'Markera alla som lästa' }).click();
  await page.getByText('Alla notiser är markerade som lästa.').waitFor();
  assert.is(await badge.count(), 0, 'the bell shows no count');
  await page.getByRole('link', { name: 'Notiser', exact: true }).waitFor();
  assert.is(await page.getByRole('button', { name: 'Markera alla som lästa' }).count(), 0);
  assert.is(await page.getByText('Oläst:').count(), 0, 'nothing listed as unread');

  // ANNA's bell still rings.
  const other = await launchBrowser({ locale: 'sv-SE' });
  try {
    await logInThroughForm(other.page, base, 'anna');
    await other.page.getByRole('link', { name: 'Notiser (1 oläst notis)', exact: true }).waitFor();
  } finally {
    await other.close();
  }
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
