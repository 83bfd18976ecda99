import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { seedUser, testConfig } from '../test-support/app.ts';
import {
  launchBrowser,
  logInThroughForm,
  startTestServer,
  type TestBrowser,
  type TestServer,
} from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { needs } from '../test-support/system-packages.ts';
import { deliverDueWebhooks } from '../webhooks/deliver.ts';
import { verifyDelivery } from '../webhooks/signature.ts';

// Issue 19 in Chromium, by visible labels: KALLE makes an API token under his settings (in
// Swedish), uses it, sees when it was last used and revokes it; an administrator (in English)
// registers a webhook, sends a test and sees it delivered in the log.
const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser };
const test = needs('chromium', suite('API tokens and webhooks in a browser'));
const allow = { WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1' };

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedUser(t.db, 'KALLE', 'agent', { language: 'sv' });
  await seedUser(t.db, 'ADA', 'admin', { language: 'en' });
  ctx.server = await startTestServer(t.db, allow);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

test('KALLE makes a token, it works with his rights, shows when it was used, and stops working when revoked', async () => {
  const { page } = ctx.browser;
  await logInThroughForm(page, ctx.server.url, 'kalle');
  await page.getByLabel('Användarmeny').click();
  await page.getByRole('link', { name: 'API-nycklar' }).click();
  await page.getByRole('heading', { name: 'API-nycklar', level: 1 }).waitFor();
  await page.getByLabel('Namn').fill('Affärssystemet');
  await page.getByLabel('Behörighet').selectOption({ label: 'Läsa och skriva' });
  assert.is(
    await page.getByRole('option', { name: 'Läsa, skriva och administrera' }).count(),
    0,
    'no admin access for an agent',
  );
  await page.getByLabel('Slutar gälla efter').selectOption({ label: '30 dagar' });
  // a double click makes one token
  await page.getByRole('button', { name: 'Skapa nyckel' }).dblclick();
  await page.getByRole('heading', { name: 'Nyckeln är skapad' }).waitFor();
  const token = await page.getByLabel('Din nya nyckel').inputValue();
  assert.match(token, /^cdp_/);
  const rows = await ctx.db.selectFrom('api_tokens').select('id').execute();
  assert.is(rows.length, 1, 'one token, however often the button was pressed');

  const me = await fetch(`${ctx.server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(me.status, 200);
  assert.is(((await me.json()) as { user: { login: string } }).user.login, 'KALLE');
  await page.goto(`${ctx.server.url}/account/tokens`);
  const row = page.getByRole('row', { name: /Affärssystemet/ });
  assert.not.match((await row.textContent()) ?? '', 'Aldrig', 'the list says when it was last used');

  await page.getByRole('button', { name: 'Återkalla nyckeln Affärssystemet' }).click();
  await page.getByText('Nyckeln är återkallad.').waitFor();
  const after = await fetch(`${ctx.server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(after.status, 401);
  assert.equal(ctx.browser.problems, []);
});

test('ADA registers a webhook, sends a test, and the log shows it delivered, signed', async () => {
  let secret = '';
  const got: { event: string; ok: boolean }[] = [];
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (c: Buffer) => {
      body += c.toString();
    });
    request.on('end', () => {
      const ok = verifyDelivery(secret, request.headers['casedesk-signature'] as string, body, Date.now() / 1000).ok;
      got.push({ event: String(request.headers['casedesk-event']), ok });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/casedesk`;
  const browser = await launchBrowser({ locale: 'en-GB' });
  try {
    const { page } = browser;
    await page.goto(`${ctx.server.url}/login`);
    await page.getByLabel('User ID').fill('ada');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('link', { name: 'New webhook' }).click();
    await page.getByLabel('URL').fill(url);
    await page.getByLabel('a case was created').check();
    await page.getByLabel('a case was closed').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('The webhook is saved.').waitFor();
    secret = await page.getByLabel('Signing secret').inputValue();
    assert.match(secret, /^whsec_/);
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByText('A test delivery (event ping) is queued').waitFor();
    await deliverDueWebhooks(ctx.db, testConfig(allow));
    await page.reload();
    const log = page.getByRole('region', { name: 'Delivery log' });
    await log.getByRole('cell', { name: 'Delivered' }).waitFor();
    assert.equal(got, [{ event: 'ping', ok: true }]);
    await page.getByRole('button', { name: /^Redeliver ping/ }).click();
    await page.getByText('The delivery goes again within seconds.').waitFor();
    await deliverDueWebhooks(ctx.db, testConfig(allow));
    assert.is(got.length, 2);
    assert.equal(browser.problems, []);
  } finally {
    await browser.close();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});

test.run();
