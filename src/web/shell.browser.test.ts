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
import { needs } from '../test-support/system-packages.ts';
import { ensureAdminUser } from '../users/users.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser };
const test = needs('chromium', suite('The application shell in a real browser'));

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

test('an admin logs in, switches to English, visits Administration and logs out', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;

  await page.goto(`${base}/login`);
  await page.getByRole('heading', { name: 'Logga in' }).waitFor();
  await page.getByLabel('Användar-ID').fill('admin');
  await page.getByLabel('Lösenord').fill('admin-password-1');
  await page.getByRole('button', { name: 'Logga in', exact: true }).click();
  // Wherever the start page lives, the login form is left behind.
  await page.waitForURL((url) => url.pathname !== '/login');

  const swedishNav = page.getByRole('navigation', { name: 'Huvudmeny' });
  await swedishNav.getByRole('link', { name: 'Ärenden', exact: true }).waitFor();
  assert.ok(await swedishNav.getByRole('link', { name: 'Registervård', exact: true }).isVisible());

  await page.getByLabel('Användarmeny').click();
  await page.getByRole('button', { name: 'English', exact: true }).click();
  const nav = page.getByRole('navigation', { name: 'Main navigation' });
  await nav.getByRole('link', { name: 'Cases', exact: true }).waitFor();
  assert.ok(await nav.getByRole('link', { name: 'Administration', exact: true }).isVisible());
  assert.is(await page.locator('html').getAttribute('lang'), 'en');

  await nav.getByRole('link', { name: 'Administration', exact: true }).click();
  await page.waitForURL(`${base}/admin`);
  await page.getByRole('heading', { name: 'Administration' }).waitFor();
  await page.getByRole('main').getByRole('link', { name: 'Users', exact: true }).waitFor();

  await page.getByLabel('User menu').click();
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.waitForURL(`${base}/login`);
  // The language chosen before logging out stays with the browser session.
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  assert.ok(await page.getByText('You have been logged out.').isVisible());
  assert.not.ok(await page.getByRole('navigation', { name: 'Main navigation' }).count());

  const response = await page.goto(`${base}/admin`);
  assert.is(pathOf(page.url()), '/login');
  assert.is(new URL(page.url()).searchParams.get('next'), '/admin');
  assert.is(response?.status(), 200);
  await page.getByLabel('User ID').waitFor();

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test('a user changes their own password from the user menu and logs in with it', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;

  // The language chosen in the test before stays with the user.
  await page.goto(`${base}/login`);
  await page.getByLabel('User ID').fill('admin');
  await page.getByLabel('Password').fill('admin-password-1');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/login');

  await page.getByLabel('User menu').click();
  await page.getByRole('link', { name: 'Change password', exact: true }).click();
  await page.waitForURL(`${base}/account#password`);
  await page.getByLabel(/^Current password/).fill('admin-password-1');
  await page.getByLabel(/^New password/).fill('admin-password-2');
  await page.getByLabel(/^Repeat new password/).fill('admin-password-2');
  await page.getByRole('button', { name: 'Change password', exact: true }).click();
  await page.getByText('Password changed.').waitFor();

  await page.getByLabel('User menu').click();
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.waitForURL(`${base}/login`);
  await page.getByLabel('User ID').fill('admin');
  await page.getByLabel('Password').fill('admin-password-2');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/login');
  await page.getByRole('navigation', { name: 'Main navigation' }).waitFor();

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test('the rich-text toolbar speaks the user’s language: Bifoga filer in Swedish, Attach Files in English', async () => {
  const browser = await launchBrowser({ locale: 'sv-SE' });
  try {
    const { page, problems } = browser;
    const base = ctx.server.url;
    await seedUser(ctx.db, 'TRIX', 'agent');
    await logInThroughForm(page, base, 'trix');
    await page.goto(`${base}/cases/new`);
    const toolbar = page.locator('trix-toolbar');
    await toolbar.getByRole('button', { name: 'Fet', exact: true }).waitFor();
    assert.is(await toolbar.getByRole('button', { name: 'Bifoga filer', exact: true }).count(), 1);
    assert.is(await toolbar.getByRole('button', { name: 'Bifoga bild', exact: true }).count(), 0);

    await page.getByLabel('Användarmeny').click();
    await page.getByRole('button', { name: 'English', exact: true }).click();
    await page.getByRole('navigation', { name: 'Main navigation' }).waitFor();
    await page.goto(`${base}/cases/new`);
    await toolbar.getByRole('button', { name: 'Bold', exact: true }).waitFor();
    assert.is(await toolbar.getByRole('button', { name: 'Attach Files', exact: true }).count(), 1);
    assert.equal(problems, [], 'no script errors or CSP refusals on the way');
  } finally {
    await browser.close();
  }
});

test.run();
