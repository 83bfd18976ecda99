import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { createMailSender, type MailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, testConfig } from '../test-support/app.ts';
import {
  launchBrowser,
  logInThroughForm,
  pasteImageIntoReply,
  type TestBrowser,
  tinyPngBase64,
} from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { needs } from '../test-support/system-packages.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  sender: MailSender;
  app: FastifyInstance;
  base: string;
  browser: TestBrowser;
  kase: Case;
};
const test = needs('chromium', suite('Manage → Send to customer in a real browser, delivered over real SMTP'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, kalle, customer.id, contact.id);
  ctx.smtp = await startTestSmtpServer();
  const env = { SMTP_URL: ctx.smtp.url };
  // The real sender of the process, as src/server.ts runs it: kicked by Send, polling besides.
  ctx.sender = createMailSender({ db: t.db, config: testConfig(env), log: () => {}, intervalMs: 500 });
  ctx.sender.start();
  ctx.app = await buildTestApp(t.db, env, { mailSender: ctx.sender });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  ctx.base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.sender?.stop();
  await ctx.app?.close();
  await ctx.smtp?.close();
  await ctx.drop?.();
});

test('KALLE saves a reply with a pasted image, previews it under Hantera and sends it to the customer', async () => {
  const { page, problems } = ctx.browser;
  const { base } = ctx;
  const caseUrl = `${base}/cases/${ctx.kase.number}`;

  await logInThroughForm(page, base, 'kalle', { next: `/cases/${ctx.kase.number}` });
  await page.waitForURL(caseUrl);

  const editor = page.locator('form.reply-box trix-editor');
  await editor.click();
  await page.keyboard.type('Hej Per! Så här ser fack två ut: ');
  await pasteImageIntoReply(page, 'fack.png');
  await page.getByLabel('Spara bara').check();
  await page.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await page.getByText('Svaret har sparats.').waitFor();
  await page.locator('ol.thread .delivery-state', { hasText: 'Sparat, inte skickat' }).waitFor();
  assert.is(ctx.smtp.received.length, 0, 'saving sends nothing');

  const menu = page.locator('details.manage-menu');
  await menu.getByText('Hantera', { exact: true }).click();
  await menu.getByRole('link', { name: /^Skicka till kunden .*Hej Per!/ }).click();
  await page.waitForURL(/\/thread\/\d+\/mail$/);
  await page.getByRole('heading', { name: 'Skicka till kunden', level: 1 }).waitFor();

  const preview = page.locator('section.mail-preview');
  assert.is(await preview.locator('.mail-subject').textContent(), `[#${ctx.kase.number}] Skrivaren fastnar`);
  assert.match(String(await preview.locator('.mail-headers').textContent()), 'per@acme.se');
  assert.match(String(await preview.locator('.mail-body').textContent()), 'Hej Per! Så här ser fack två ut:');
  const image = preview.locator('.mail-body img');
  assert.match(String(await image.getAttribute('src')), /^data:image\/png;base64,/);
  assert.is(
    await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth),
    1,
    'the browser shows the inline image',
  );
  assert.is(await page.getByLabel('Till', { exact: true }).inputValue(), 'per@acme.se');

  await page.getByRole('button', { name: 'Skicka', exact: true }).click();
  await page.waitForURL(caseUrl);
  await page.getByText('Lagt i utkorgen — skickas nu.').waitFor();

  const [mail] = await ctx.smtp.waitFor(1);
  assert.ok(mail);
  assert.equal(mail.envelopeTo, ['per@acme.se']);
  assert.is(mail.parsed.subject, `[#${ctx.kase.number}] Skrivaren fastnar`);
  const inline = mail.parsed.attachments.find((a) => a.contentDisposition === 'inline');
  assert.ok(inline?.cid, 'the image travels as an inline part');
  assert.is(inline.contentType, 'image/png');
  assert.is(
    createHash('sha256').update(inline.content).digest('hex'),
    createHash('sha256').update(Buffer.from(tinyPngBase64, 'base64')).digest('hex'),
  );
  assert.match(String(mail.parsed.html), `cid:${inline.cid}`);
  const queued = await ctx.db.selectFrom('outbox').select('message_id').executeTakeFirstOrThrow();
  assert.is(mail.parsed.messageId, queued.message_id);

  // The sender marks it sent right after the server took it; the thread then says so.
  const sent = page.locator('ol.thread .delivery-state.state-sent');
  for (let i = 0; i < 20 && !(await sent.count()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    await page.reload();
  }
  assert.match(String(await sent.textContent()), /^Skickat → per@acme\.se$/);
  await page.locator('details.manage-menu summary').click();
  await menu.getByText('Inga sparade svar väntar på att skickas.').waitFor();

  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
