import type { Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCase } from '../cases/cases.ts';
import { createCustomer } from '../customers/customers.ts';
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
import { needs } from '../test-support/system-packages.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  server: TestServer;
  browsers: TestBrowser[];
  kase: Case;
};
const test = needs('chromium', suite('Mentioning a colleague in the discussion, in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.browsers = [];
  const kalle = await seedUser(t.db, 'KALLE');
  await seedUser(t.db, 'ANNA');
  // A second "an…" so picking ANNA takes the arrow keys.
  await seedUser(t.db, 'ANDERS');
  const customer = await createCustomer(t.db, { number: 'K1001', name: 'Acme AB', email_domains: ['acme.se'] });
  const id = async (table: 'case_statuses' | 'case_types', name: string) =>
    (await t.db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  ctx.kase = await createCase(
    t.db,
    {
      title: 'Skrivaren fastnar',
      responsible_id: kalle.id,
      customer_id: customer.id,
      status_id: await id('case_statuses', 'Öppen'),
      case_type_id: await id('case_types', 'Support'),
      priority_id: null,
      due_date: null,
      contact_id: null,
      contact_name: 'Per Persson',
      contact_email: 'per@acme.se',
      contact_phone: null,
      body_html: '<div>Pappret fastnar.</div>',
    },
    kalle,
  );
  ctx.server = await startTestServer(t.db);
});
test.after(async () => {
  for (const browser of ctx.browsers ?? []) await browser.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

async function openBrowser(): Promise<TestBrowser> {
  const browser = await launchBrowser({ locale: 'sv-SE' });
  ctx.browsers.push(browser);
  return browser;
}

const logIn = (page: Page, login: string) => logInThroughForm(page, ctx.server.url, login);

const postsOf = (login: string) =>
  ctx.db
    .selectFrom('discussion_posts')
    .innerJoin('users', 'users.id', 'discussion_posts.user_id')
    .select(['discussion_posts.id', 'discussion_posts.body_html'])
    .where('users.login', '=', login)
    .orderBy('discussion_posts.id')
    .execute();

test('KALLE mentions ANNA with the autocomplete, her bell rings, and only she may delete her posts', async () => {
  const discussion = `${ctx.server.url}/cases/${ctx.kase.number}/discussion`;

  // KALLE writes, picking ANNA from the suggestions with the keyboard.
  const kalleBrowser = await openBrowser();
  const kalle = kalleBrowser.page;
  await logIn(kalle, 'kalle');
  await kalle.goto(`${ctx.server.url}/cases/${ctx.kase.number}`);
  await kalle.getByRole('navigation', { name: 'Ärendets flikar' }).getByRole('link', { name: 'Diskussion' }).click();
  await kalle.waitForURL(discussion);
  const editor = kalle.getByRole('textbox', { name: 'Nytt inlägg' });
  await editor.click();
  await kalle.keyboard.type('Kan du titta på detta @an');
  const suggestions = kalle.getByRole('listbox', { name: 'Kollegor att nämna' });
  await suggestions.getByRole('option', { name: /ANNA/ }).waitFor();
  // The presence line beside the editor is polled every second and answered by htmx; the
  // suggestions stay open through it (after a second answer, the first has been handled).
  const presencePoll = (r: { url: () => string }) => r.url().endsWith(`/cases/${ctx.kase.number}/presence`);
  await kalle.waitForResponse(presencePoll);
  await kalle.waitForResponse(presencePoll);
  assert.ok(await suggestions.isVisible(), 'the suggestions outlast a presence poll');
  assert.equal(await suggestions.getByRole('option').allTextContents(), [
    'ANDERS Anders Testsson',
    'ANNA Anna Testsson',
  ]);
  assert.is(await suggestions.getByRole('option', { selected: true }).textContent(), 'ANDERS Anders Testsson');
  await kalle.keyboard.press('ArrowDown');
  assert.is(await suggestions.getByRole('option', { selected: true }).textContent(), 'ANNA Anna Testsson');
  await kalle.keyboard.press('Enter');
  await suggestions.waitFor({ state: 'detached' });
  assert.is((await editor.textContent())?.replace(/\u00a0/g, ' '), 'Kan du titta på detta @ANNA ');
  await kalle.getByRole('button', { name: 'Publicera', exact: true }).click();
  await kalle.waitForURL((url) => url.pathname.endsWith('/discussion') && url.hash.startsWith('#post-'));
  const [kallesPost] = await postsOf('KALLE');
  assert.ok(kallesPost);
  assert.match(kallesPost.body_html, 'Kan du titta på detta @ANNA');
  const shown = kalle.locator(`#post-${kallesPost.id}`);
  assert.is(await shown.locator('mark.mention').textContent(), '@ANNA');

  // ANNA, in a browser of her own, sees one unread notification and follows it to the post.
  const annaBrowser = await openBrowser();
  const anna = annaBrowser.page;
  await logIn(anna, 'anna');
  const bell = anna.getByRole('link', { name: 'Notiser' });
  assert.is(await bell.locator('.badge').textContent(), '1');
  await bell.click();
  await anna.getByRole('button', { name: `KALLE nämnde dig: ${ctx.kase.number} Skrivaren fastnar` }).click();
  await anna.waitForURL(`${discussion}#post-${kallesPost.id}`);
  assert.is(await anna.getByRole('link', { name: 'Notiser' }).locator('.badge').count(), 0, 'read now');

  // She answers; Escape closes the suggestions her @ brings up.
  await anna.getByRole('textbox', { name: 'Nytt inlägg' }).click();
  await anna.keyboard.type('Jag tittar, @kal');
  const annasSuggestions = anna.getByRole('listbox', { name: 'Kollegor att nämna' });
  await annasSuggestions.getByRole('option', { name: /KALLE/ }).waitFor();
  await anna.keyboard.press('Escape');
  await annasSuggestions.waitFor({ state: 'detached' });
  await anna.keyboard.type('le');
  await anna.getByRole('button', { name: 'Publicera', exact: true }).click();
  // she is at KALLE's post already: wait for the address of her own
  await anna.waitForURL((url) => url.hash.startsWith('#post-') && url.hash !== `#post-${kallesPost.id}`);
  const [annasPost] = await postsOf('ANNA');
  assert.ok(annasPost);
  assert.match(annasPost.body_html, 'Jag tittar, @kalle');

  // KALLE may delete his own post only, and a forged deletion of hers is refused.
  await kalle.goto(discussion);
  const hers = kalle.locator(`#post-${annasPost.id}`);
  await hers.getByText('Jag tittar').waitFor();
  assert.is(await hers.getByRole('button', { name: 'Ta bort' }).count(), 0);
  assert.is(await kalle.locator(`#post-${kallesPost.id}`).getByRole('button', { name: 'Ta bort' }).count(), 1);
  const csrf = await kalle.locator('input[name="_csrf"]').first().inputValue();
  const forged = await kalle.request.post(`${discussion}/${annasPost.id}/deletion`, {
    form: { _csrf: csrf },
    maxRedirects: 0,
  });
  assert.is(forged.status(), 403);
  const still = await ctx.db
    .selectFrom('discussion_posts')
    .select('deleted_at')
    .where('id', '=', annasPost.id)
    .executeTakeFirstOrThrow();
  assert.is(still.deleted_at, null);

  assert.equal(kalleBrowser.problems, [], 'no script errors or CSP refusals for KALLE');
  assert.equal(annaBrowser.problems, [], 'no script errors or CSP refusals for ANNA');
});

test.run();
