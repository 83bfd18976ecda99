import { readFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { seedUser } from '../test-support/app.ts';
import {
  launchBrowser,
  logInThroughForm,
  pasteImageIntoReply,
  startTestServer,
  type TestBrowser,
  type TestServer,
} from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { needs } from '../test-support/system-packages.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; server: TestServer; browser: TestBrowser };
const test = needs('chromium', suite('Documents and pasted images in a real browser'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedUser(t.db, 'KALLE', 'agent');
  const status = await t.db.selectFrom('case_statuses').select('id').orderBy('position').executeTakeFirstOrThrow();
  const type = await t.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  await t.db
    .insertInto('cases')
    .values({ number: 'B-1', title: 'Skrivaren fastnar', status_id: status.id, case_type_id: type.id })
    .execute();
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

test('KALLE uploads a file on the Documents tab, downloads it, and pastes an image into a reply', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;

  await logInThroughForm(page, base, 'kalle', { next: '/cases/B-1' });
  await page.waitForURL(`${base}/cases/B-1`);

  const tabs = page.getByRole('navigation', { name: 'Ärendets flikar' });
  await tabs.getByRole('link', { name: 'Dokument', exact: true }).click();
  await page.waitForURL(`${base}/cases/B-1/documents`);
  await page.getByRole('rowheader', { name: 'Mapp: E-mail IN' }).waitFor();

  const content = Buffer.from('Serienummer: 12345\nFelkod: E-42\n');
  await page.getByLabel('Filer').setInputFiles({ name: 'anteckning.txt', mimeType: 'text/plain', buffer: content });
  await page.getByRole('button', { name: 'Ladda upp', exact: true }).click();
  const link = page.getByRole('link', { name: 'Ladda ner anteckning.txt', exact: true });
  await link.waitFor();
  await page.getByText('Tillagda filer: 1.').waitFor();
  const row = page.getByRole('row').filter({ has: link });
  assert.match(String(await row.textContent()), 'Kalle Testsson');
  assert.match(String(await row.textContent()), '32 B');

  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.is(download.suggestedFilename(), 'anteckning.txt');
  assert.ok((await readFile(await download.path())).equals(content), 'the same bytes come back');

  // Files dropped on the form are uploaded as if chosen; deleting asks first.
  const dropped = await page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['släppt'], 'släppt.txt', { type: 'text/plain' }));
    return transfer;
  });
  await page.locator('form[data-drop-zone]').dispatchEvent('drop', { dataTransfer: dropped });
  const droppedLink = page.getByRole('link', { name: 'släppt.txt', exact: true });
  await droppedLink.waitFor();
  let question = '';
  page.once('dialog', (dialog) => {
    question = dialog.message();
    return dialog.accept();
  });
  await page.getByRole('button', { name: 'Ta bort släppt.txt', exact: true }).click();
  await page.getByText('släppt.txt har tagits bort.').waitFor();
  assert.is(question, 'Ta bort släppt.txt? Den går inte längre att ladda ner.');
  assert.is(await droppedLink.count(), 0);
  assert.is(await link.count(), 1, 'the other file stays');

  await tabs.getByRole('link', { name: 'Ärendetråd', exact: true }).click();
  const editor = page.locator('form.reply-box trix-editor');
  await editor.waitFor();
  await editor.click();
  await page.keyboard.type('Se bilden: ');
  await pasteImageIntoReply(page, 'x.png');
  // Other files are not taken into the text; they belong on the Documents tab.
  await editor.evaluate((element) => {
    // biome-ignore lint/suspicious/noExplicitAny: Trix's editor API has no types here
    (element as any).editor.insertFile(new File(['x'], 'lista.txt', { type: 'text/plain' }));
  });
  await page.getByText('Bara bilder i PNG, JPEG, GIF eller WebP kan infogas i texten.', { exact: false }).waitFor();
  assert.not.match(await editor.evaluate((element) => element.innerHTML), 'lista.txt');
  // The case has no contact address, so the reply is kept for Send to customer.
  await page.getByLabel('Spara bara').check();
  await page.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await page.getByText('Svaret har sparats.').waitFor();

  const image = page.locator('ol.thread img[src^="/uploads/images/"]').first();
  await image.waitFor();
  const src = await image.getAttribute('src');
  const served = await page.request.get(`${base}${src}`);
  assert.is(served.status(), 200);
  assert.is(served.headers()['content-type'], 'image/png');
  assert.is(
    await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth),
    1,
    'the browser shows it',
  );

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
