import type { Locator, Page } from 'playwright-core';
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

// Issue 15, item 7: what KALLE types in a case's boxes is never lost.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  server: TestServer;
  browsers: TestBrowser[];
  cases: Case[];
};
const test = needs('chromium', suite('Drafts in the reply, discussion and note boxes, in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.browsers = [];
  ctx.cases = [];
  const kalle = await seedUser(t.db, 'KALLE');
  const { customer } = await seedAcme(t.db);
  for (const title of ['Skrivaren fastnar', 'Nätverket är segt']) {
    ctx.cases.push(
      await seedPrinterJamCase(t.db, kalle, customer.id, undefined, {
        title,
        contact_name: 'Per Persson',
        contact_email: 'per@acme.se',
        body_html: `<div>${title}.</div>`,
      }),
    );
  }
  ctx.server = await startTestServer(t.db);
});
test.after(async () => {
  for (const browser of ctx.browsers ?? []) await browser.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

// A browser of its own (cookies and all), logged in as KALLE.
async function kalleInNewBrowser(): Promise<Page> {
  const browser = await launchBrowser({ locale: 'sv-SE' });
  ctx.browsers.push(browser);
  await logInThroughForm(browser.page, ctx.server.url, 'kalle');
  return browser.page;
}

const tab = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Ärendets flikar' }).getByRole('link', { name, exact: true });
const replyBox = (page: Page) => page.getByRole('textbox', { name: 'Svar till kunden' });
const discussionBox = (page: Page) => page.getByRole('textbox', { name: 'Nytt inlägg' });
const noteBox = (page: Page) => page.getByRole('textbox', { name: 'Intern anteckning' });
const discardButton = (page: Page) => page.getByRole('button', { name: 'Kasta utkast', exact: true });
const textOf = async (box: Locator) => ((await box.textContent()) ?? '').replace(/\u00a0/g, ' ');

// The box's text once its editor has loaded it (Trix fills itself in just after a swap or load):
// the expected text as soon as it shows, else what is there after a few seconds.
async function settledText(box: Locator, expected: string): Promise<string> {
  // a Trix editor has its editor (and its loaded text) once initialised
  await box.evaluate((el) =>
    el.tagName !== 'TRIX-EDITOR' || (el as unknown as { editor?: unknown }).editor
      ? undefined
      : new Promise((resolve) => el.addEventListener('trix-initialize', () => resolve(null), { once: true })),
  );
  const read = async () =>
    (await box.evaluate((el) => el instanceof HTMLTextAreaElement)) ? box.inputValue() : textOf(box);
  let text = await read();
  for (let i = 0; i < 30 && text !== expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    text = await read();
  }
  return text;
}

async function switchTab(page: Page, name: string, path: string) {
  await tab(page, name).click();
  await page.waitForURL(`${ctx.server.url}${path}`);
  await tab(page, name).and(page.locator('[aria-current="page"]')).waitFor();
}

test('a reply draft survives a tab switch, a reload and another browser; leaving unsaved asks; discard empties it', async () => {
  const kase = ctx.cases[0] as Case;
  const casePath = `/cases/${kase.number}`;
  const page = await kalleInNewBrowser();
  await page.goto(`${ctx.server.url}${casePath}`);
  await replyBox(page).click();
  await page.keyboard.type('Hej Per, skrivaren är lagad.');

  // Straight to another tab and back: the box has the text.
  await switchTab(page, 'Diskussion', `${casePath}/discussion`);
  await switchTab(page, 'Ärendetråd', `${casePath}/thread`);
  assert.is(await settledText(replyBox(page), 'Hej Per, skrivaren är lagad.'), 'Hej Per, skrivaren är lagad.');

  // A reload, and another browser as the same user.
  await page.reload();
  assert.is(await settledText(replyBox(page), 'Hej Per, skrivaren är lagad.'), 'Hej Per, skrivaren är lagad.');
  const other = await kalleInNewBrowser();
  await other.goto(`${ctx.server.url}${casePath}`);
  assert.is(await settledText(replyBox(other), 'Hej Per, skrivaren är lagad.'), 'Hej Per, skrivaren är lagad.');

  // Discarding is explicit, and the draft is gone everywhere.
  await discardButton(other).click();
  await other.getByRole('status').getByText('Utkastet har kastats.').waitFor();
  assert.is(await settledText(replyBox(other), ''), '');
  await page.reload();
  assert.is(await settledText(replyBox(page), ''), '');

  // Leaving right after typing asks first; staying keeps the text. The draft's saves are held
  // back meanwhile, so it is surely not stored yet when KALLE leaves (on a loaded machine more
  // than the saving delay could pass between the typing and the click, and a stored draft asks
  // nothing).
  const held: (() => void)[] = [];
  let holding = true;
  await page.route('**/reply-draft', (route) => {
    const go = () => void route.continue().catch(() => {});
    // a save queued behind a held one is asked for only after the release: it goes straight on
    if (holding) held.push(go);
    else go();
  });
  await replyBox(page).click();
  await page.keyboard.type('Vi kommer på tisdag.');
  const dialogs: string[] = [];
  const asked = new Promise<string>((resolve) => {
    page.once('dialog', (dialog) => {
      resolve(dialog.type());
      void dialog.dismiss();
    });
  });
  await page.getByRole('navigation', { name: 'Huvudmeny' }).getByRole('link', { name: 'Ärenden' }).click();
  dialogs.push(await Promise.race([asked, page.waitForTimeout(10_000).then(() => 'no question')]));
  holding = false;
  for (const release of held) release();
  assert.equal(dialogs, ['beforeunload'], 'the browser asks before leaving');
  assert.is(page.url(), `${ctx.server.url}${casePath}/thread`);
  assert.is(
    await settledText(replyBox(page), 'Vi kommer på tisdag.'),
    'Vi kommer på tisdag.',
    'staying keeps the text',
  );

  // Once it is stored (the bar shows when the newest save is), leaving does not ask, and the text
  // is there when KALLE comes back.
  await discardButton(page).waitFor();
  await page.unroute('**/reply-draft');
  page.once('dialog', (dialog) => {
    dialogs.push(dialog.type());
    void dialog.accept();
  });
  await page.getByRole('navigation', { name: 'Huvudmeny' }).getByRole('link', { name: 'Ärenden' }).click();
  await page.waitForURL(`${ctx.server.url}/cases`);
  assert.equal(dialogs, ['beforeunload'], 'no second question');
  await page.goBack();
  await page.waitForURL(`${ctx.server.url}${casePath}/thread`);
  assert.is(
    await settledText(replyBox(page), 'Vi kommer på tisdag.'),
    'Vi kommer på tisdag.',
    'back on the case, the text is there',
  );
});

test('discussion and internal-note drafts come back after a tab switch and a reload, and sending uses them up', async () => {
  const kase = ctx.cases[1] as Case;
  const base = `${ctx.server.url}/cases/${kase.number}`;
  const page = await kalleInNewBrowser();

  // The discussion: typed, another tab at once, back.
  await page.goto(`${base}/discussion`);
  await discussionBox(page).click();
  await page.keyboard.type('Ska vi byta router?');
  await switchTab(page, 'Internt', `/cases/${kase.number}/internal`);

  // The internal note, typed over the saved (empty) note.
  await noteBox(page).click();
  await page.keyboard.type('Kunden vill ha besök.');
  await switchTab(page, 'Diskussion', `/cases/${kase.number}/discussion`);
  assert.is(await settledText(discussionBox(page), 'Ska vi byta router?'), 'Ska vi byta router?');
  await switchTab(page, 'Internt', `/cases/${kase.number}/internal`);
  assert.is(await settledText(noteBox(page), 'Kunden vill ha besök.'), 'Kunden vill ha besök.');
  await page.reload();
  assert.is(await settledText(noteBox(page), 'Kunden vill ha besök.'), 'Kunden vill ha besök.');
  assert.ok(await discardButton(page).isVisible(), 'the unsaved note shows as a draft');

  // Saving the note uses its draft up.
  await page.getByRole('button', { name: 'Spara anteckningen', exact: true }).click();
  await page.getByRole('status').getByText('Sparat').first().waitFor();
  await page.reload();
  assert.is(await settledText(noteBox(page), 'Kunden vill ha besök.'), 'Kunden vill ha besök.');
  assert.is(await discardButton(page).count(), 0, 'no draft left');

  // A reload of the discussion keeps its draft; publishing uses it up.
  await page.goto(`${base}/discussion`);
  assert.is(await settledText(discussionBox(page), 'Ska vi byta router?'), 'Ska vi byta router?');
  await page.getByRole('button', { name: 'Publicera', exact: true }).click();
  await page.waitForURL((url) => url.pathname.endsWith('/discussion') && url.hash.startsWith('#post-'));
  await page.goto(`${base}/discussion`);
  assert.is(await settledText(discussionBox(page), ''), '');
  assert.match((await page.locator('ol.discussion').textContent()) ?? '', 'Ska vi byta router?');

  // A discussion draft can be discarded too.
  await discussionBox(page).click();
  await page.keyboard.type('Glöm det.');
  await discardButton(page).waitFor();
  await discardButton(page).click();
  await page.getByRole('status').getByText('Utkastet har kastats.').waitFor();
  assert.is(await settledText(discussionBox(page), ''), '');
  await page.reload();
  assert.is(await settledText(discussionBox(page), ''), '');
});

test.run();
