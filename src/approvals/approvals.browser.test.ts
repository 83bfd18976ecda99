import type { Page } from 'playwright-core';
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
const test = needs('chromium', suite('Document approval in a real browser, as new users would do it'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedUser(t.db, 'BOSS', 'admin');
  await seedUser(t.db, 'KALLE');
  await seedUser(t.db, 'ANNA');
  await seedUser(t.db, 'ERIK');
  await seedUser(t.db, 'SARA');
  await seedAcme(t.db);
  await t.db.insertInto('document_folders').values({ name: 'Avtal', position: 2 }).execute();
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

async function logIn(page: Page, login: string) {
  await logInThroughForm(page, ctx.server.url, login);
}

async function logOut(page: Page) {
  await page.getByLabel('Användarmeny').click();
  await page.getByRole('button', { name: 'Logga ut' }).click();
  await page.waitForURL((url) => url.pathname === '/login');
}

// From the overview's "Mina attester" tile to the document case, as the approver would go.
async function openMyApproval(page: Page, fileName: string) {
  await page.goto(`${ctx.server.url}/cases`);
  await page.getByRole('link', { name: /Mina attester/ }).click();
  await page.getByRole('heading', { name: 'Mina attester' }).waitFor();
  const row = page.getByRole('row', { name: new RegExp(fileName.replace('.', '\\.')) });
  await row.getByRole('link', { name: /^\d{4}-/ }).click();
  await page.getByRole('heading', { name: 'Dokument att attestera' }).waitFor();
}

test('KALLE → ANNA on "Avtal": lock, approve, send back, new version, approve twice, published', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;

  // The admin creates the structure KALLE → ANNA for the category "Avtal".
  await logIn(page, 'boss');
  await page.getByRole('link', { name: 'Registervård' }).click();
  await page.getByRole('link', { name: 'Attestflöden' }).click();
  await page.getByRole('link', { name: 'Nytt attestflöde' }).click();
  await page.getByLabel('Namn').fill('Avtalsattest');
  await page.getByLabel('Steg 1', { exact: true }).selectOption({ label: 'KALLE (Kalle Testsson)' });
  await page.getByRole('button', { name: 'Lägg till steg' }).click();
  await page.getByLabel('Steg 2', { exact: true }).selectOption({ label: 'ANNA (Anna Testsson)' });
  await page.getByLabel('Dokumentkategorier').selectOption({ label: 'Avtal' });
  await page.getByRole('button', { name: 'Spara', exact: true }).click();
  await page.getByText('Attestflödet Avtalsattest skapades.').waitFor();
  await page.getByRole('row', { name: /Avtalsattest KALLE → ANNA Avtal/ }).waitFor();
  await logOut(page);

  // ERIK uploads a contract to the customer, in "Avtal": it is locked at once, for him too.
  await logIn(page, 'erik');
  await page.getByRole('link', { name: 'Kunder' }).click();
  await page
    .getByRole('link', { name: /Acme AB/ })
    .first()
    .click();
  await page.getByLabel('Mapp').selectOption({ label: 'Avtal' });
  await page.getByLabel('Filer').setInputFiles({
    name: 'avtal-acme.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4 version 1'),
  });
  await page.getByRole('button', { name: 'Ladda upp', exact: true }).click();
  await page.getByText('Väntar på attest (steg 1 av 2: KALLE)').waitFor();
  assert.is(await page.getByRole('link', { name: 'Ladda ner avtal-acme.pdf' }).count(), 0);
  await page.getByRole('link', { name: 'avtal-acme.pdf' }).click();
  await page.waitForURL(/\/documents\/\d+$/);
  const documentUrl = page.url();
  const downloadUrl = `${documentUrl}/download`;
  await page.getByText('Dokumentet är låst medan det väntar på attest.').waitFor();
  assert.is((await page.request.get(downloadUrl)).status(), 403, 'locked for the uploader');
  await logOut(page);

  // KALLE finds it under "Mina attester", can open it, and approves from his case.
  await logIn(page, 'kalle');
  assert.is((await page.request.get(downloadUrl)).status(), 200, 'the current approver may open it');
  await openMyApproval(page, 'avtal-acme.pdf');
  await page.getByText('Din attest: Steg 1 av 2').waitFor();
  await page.getByRole('button', { name: 'Godkänn' }).click();
  await page.getByText('Du godkände steg 1.').waitFor();
  await page.getByText('KALLE godkände steg 1 av 2.').waitFor();
  assert.is((await page.request.get(downloadUrl)).status(), 403, 'no longer his turn');
  await logOut(page);

  // ANNA sends it back with a comment.
  await logIn(page, 'anna');
  await openMyApproval(page, 'avtal-acme.pdf');
  await page.getByRole('button', { name: 'Skicka tillbaka' }).click();
  await page.getByText('Skriv varför du skickar tillbaka dokumentet.').first().waitFor();
  await page.getByLabel('Kommentar', { exact: true }).fill('Fel belopp i punkt 4.2');
  await page.getByRole('button', { name: 'Skicka tillbaka' }).click();
  await page.getByText('Dokumentet skickades tillbaka.').waitFor();
  await logOut(page);

  // ERIK sees the comment (bell, then the document) and uploads a new version.
  await logIn(page, 'erik');
  await page.getByRole('link', { name: 'Notiser' }).click();
  await page
    .getByRole('button', { name: /ANNA skickade tillbaka ditt dokument: avtal-acme\.pdf: Fel belopp i punkt 4\.2/ })
    .click();
  await page.waitForURL(documentUrl);
  await page.getByText('Skickad tillbaka av Anna Testsson').waitFor();
  await page.getByText('Fel belopp i punkt 4.2').first().waitFor();
  assert.is((await page.request.get(downloadUrl)).status(), 403, 'still locked after the send back');
  await page.getByLabel('Fil', { exact: true }).setInputFiles({
    name: 'avtal-acme.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4 version 2'),
  });
  await page.getByRole('button', { name: 'Ladda upp versionen' }).click();
  await page.getByText('Väntar på attest (steg 1 av 2: KALLE)').first().waitFor();
  await logOut(page);

  // KALLE and ANNA approve the new version, each from the same document case.
  for (const [login, step] of [
    ['kalle', 1],
    ['anna', 2],
  ] as const) {
    await logIn(page, login);
    await openMyApproval(page, 'avtal-acme.pdf');
    await page.getByText(`Din attest: Steg ${step} av 2`).waitFor();
    await page.getByRole('button', { name: 'Godkänn' }).click();
    await page
      .getByText(step === 2 ? 'Godkänt i alla steg: dokumentet är publicerat.' : 'Du godkände steg 1.')
      .waitFor();
    await logOut(page);
  }

  // Published: SARA, who had no part in it, downloads version 2; the history lists the decisions.
  await logIn(page, 'sara');
  await page.goto(documentUrl);
  await page.getByText('Godkänd', { exact: true }).first().waitFor();
  const href = await page.getByRole('link', { name: 'Ladda ner', exact: true }).getAttribute('href');
  const download = await page.request.get(new URL(href as string, base).toString());
  assert.is(download.status(), 200);
  assert.is(await download.text(), '%PDF-1.4 version 2');
  const history = page.getByRole('table', { name: 'Attesthistorik' });
  const rows = await history.locator('tbody tr').allInnerTexts();
  const decisions = rows.map((r) => r.replace(/\s+/g, ' ').trim());
  // the five decisions: KALLE's and ANNA's on version 1, ERIK's new version, KALLE's and ANNA's on it
  assert.is(decisions.length, 5, decisions.join('\n'));
  assert.match(decisions[0] ?? '', /^1 1 Kalle Testsson .* Godkänd/);
  assert.match(decisions[1] ?? '', /^1 2 Anna Testsson .* Skickad tillbaka Fel belopp i punkt 4\.2$/);
  assert.match(decisions[2] ?? '', /^2 – Erik Testsson .* Ny version inskickad/);
  assert.match(decisions[3] ?? '', /^2 1 Kalle Testsson .* Godkänd/);
  assert.match(decisions[4] ?? '', /^2 2 Anna Testsson .* Godkänd/);
  assert.is(await page.getByRole('row', { name: /Kalle Testsson|Anna Testsson/ }).count(), 4);
  assert.equal(problems, []);
});

test.run();
