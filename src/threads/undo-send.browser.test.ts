import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { createMailSender, type MailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, testConfig } from '../test-support/app.ts';
import { launchBrowser, logInThroughForm, type TestBrowser } from '../test-support/browser.ts';
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
  newCase: () => Promise<Case>;
};
const test = needs(
  'chromium',
  suite('Send now in a real browser: held for Undo, and sent once however often F2 is pressed'),
);

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.newCase = () => seedPrinterJamCase(t.db, kalle, customer.id, contact.id);
  ctx.smtp = await startTestSmtpServer();
  const env = { SMTP_URL: ctx.smtp.url };
  // The real sender of the process, as src/server.ts runs it: kicked by Send, polling besides.
  ctx.sender = createMailSender({ db: t.db, config: testConfig(env), log: () => {}, intervalMs: 500 });
  ctx.sender.start();
  ctx.app = await buildTestApp(t.db, env, { mailSender: ctx.sender });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  ctx.base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
  await logInThroughForm(ctx.browser.page, ctx.base, 'kalle');
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.sender?.stop();
  await ctx.app?.close();
  await ctx.smtp?.close();
  await ctx.drop?.();
});

const holdFor = (seconds: number) =>
  ctx.db.updateTable('case_settings').set({ undo_send_seconds: seconds }).where('id', '=', 1).execute();

test('KALLE sends with the button, sees the countdown and Undo, clicks Undo and finds his text back; no mail leaves', async () => {
  const { page, problems } = ctx.browser;
  await holdFor(30);
  const kase = await ctx.newCase();
  await page.goto(`${ctx.base}/cases/${kase.number}`);

  const editor = page.getByLabel('Svar till kunden');
  await editor.click();
  await page.keyboard.type('Hej Per! Prova fack två.');
  await page.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await page.getByText('Det skickas till kunden om 30 s; till dess kan du ångra.').waitFor();

  const thread = page.locator('ol.thread');
  const countdown = thread.getByText(/^Skickas om \d+ s$/);
  await countdown.waitFor();
  const shown = Number(/\d+/.exec(String(await countdown.textContent()))?.[0]);
  await page.evaluate(() => {
    (window as unknown as { __marker: number }).__marker = 1;
  });
  // It counts down in place, without a reload.
  await thread
    .getByText(new RegExp(`^Skickas om (${Array.from({ length: shown - 1 }, (_, i) => i + 1).join('|')}) s$`))
    .waitFor();
  assert.is(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker), 1);

  await thread.getByRole('button', { name: 'Ångra', exact: true }).click();
  await page.getByText('Skickandet ångrades. Svaret är tillbaka i rutan, inte skickat.').waitFor();
  // Trix fills the editor from the form's field once it has started
  const box = page.getByLabel('Svar till kunden');
  await box.getByText('Hej Per! Prova fack två.').waitFor();
  assert.is(await box.textContent(), 'Hej Per! Prova fack två.');
  assert.is(await page.getByLabel('Till', { exact: true }).inputValue(), 'per@acme.se');
  assert.is(await thread.getByText('Hej Per! Prova fack två.').count(), 0, 'the reply left the thread');

  await ctx.sender.runOnce();
  assert.is(ctx.smtp.received.length, 0, 'no mail arrived');
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test('F2 pressed twice 60 ms apart sends one reply and one mail, which leaves when its countdown ends', async () => {
  const { page, problems } = ctx.browser;
  await holdFor(2);
  const kase = await ctx.newCase();
  await page.goto(`${ctx.base}/cases/${kase.number}`);
  await page.getByLabel('Svar till kunden').click();
  await page.keyboard.type('Bara en gång, tack.');
  await page.keyboard.press('F2');
  await new Promise((resolve) => setTimeout(resolve, 60));
  await page.keyboard.press('F2');
  // Not the notice: the second press aborts the page load the first one started, and the server
  // still answers that load, which can use up the notice in the session before the second lands.
  // What the user must see is the one reply, waiting in the thread.

  const thread = page.locator('ol.thread');
  await thread.getByText('Ska skickas', { exact: true }).waitFor();
  assert.is(await thread.getByRole('button', { name: 'Ångra', exact: true }).count(), 0, 'Undo goes with the hold');
  const [mail] = await ctx.smtp.waitFor(1);
  assert.match(String(mail?.parsed.text), 'Bara en gång, tack.');
  await ctx.sender.runOnce();
  const entries = await ctx.db
    .selectFrom('thread_entries')
    .select('id')
    .where('case_id', '=', kase.id)
    .where('side', '=', 'staff')
    .execute();
  assert.is(entries.length, 1, 'one reply in the thread');
  // The server has the mail once its 250 is sent; the sender marks the row in its own commit
  // just after, so wait for that mark rather than race it.
  const outboxRows = () => ctx.db.selectFrom('outbox').select('status').where('case_id', '=', kase.id).execute();
  let outbox = await outboxRows();
  for (let i = 0; i < 100 && outbox.some((r) => r.status !== 'sent'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    outbox = await outboxRows();
  }
  assert.equal(outbox, [{ status: 'sent' }]);
  assert.is(ctx.smtp.received.length, 1, 'one mail');
  assert.equal(problems, [], 'no script errors or CSP refusals on the way');
});

test.run();
