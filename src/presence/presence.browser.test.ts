import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { createMailSender, type MailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, testConfig } from '../test-support/app.ts';
import { launchBrowser, logInThroughForm, type TestBrowser } from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { needs } from '../test-support/system-packages.ts';

// Two agents on one case, each in a browser of their own (issue 18, part 1): KALLE sees ANNA
// arrive and write, ANNA's reply goes first, KALLE's Send is held back with her reply shown,
// and Send anyway sends his reply once.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  sender: MailSender;
  app: FastifyInstance;
  base: string;
  kalleBrowser: TestBrowser;
  annaBrowser: TestBrowser;
  kalle: User;
  kase: Case;
};
const test = needs('chromium', suite('Presence and the collision warning, KALLE and ANNA in two browsers'));

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.kalle = await seedUser(t.db, 'KALLE', 'agent');
  await seedUser(t.db, 'ANNA', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, ctx.kalle, customer.id, contact.id);
  // no Undo hold: a reply's mail leaves at once, so the test can count the mails
  await t.db.updateTable('case_settings').set({ undo_send_seconds: 0 }).where('id', '=', 1).execute();
  ctx.smtp = await startTestSmtpServer();
  const env = { SMTP_URL: ctx.smtp.url };
  ctx.sender = createMailSender({ db: t.db, config: testConfig(env), log: () => {}, intervalMs: 500 });
  ctx.sender.start();
  ctx.app = await buildTestApp(t.db, env, { mailSender: ctx.sender });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  ctx.base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  ctx.kalleBrowser = await launchBrowser({ locale: 'sv-SE' });
  ctx.annaBrowser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.kalleBrowser?.close();
  await ctx.annaBrowser?.close();
  await ctx.sender?.stop();
  await ctx.app?.close();
  await ctx.smtp?.close();
  await ctx.drop?.();
});

test('KALLE sees ANNA on the case and writing, is warned of her reply, and Send anyway sends his once', async () => {
  const kalle = ctx.kalleBrowser.page;
  const anna = ctx.annaBrowser.page;
  const caseUrl = `${ctx.base}/cases/${ctx.kase.number}`;
  const within2s = { timeout: 2_000 };

  await logInThroughForm(kalle, ctx.base, 'kalle', { next: `/cases/${ctx.kase.number}` });
  await kalle.waitForURL(caseUrl);
  await logInThroughForm(anna, ctx.base, 'anna', { next: `/cases/${ctx.kase.number}` });
  await anna.waitForURL(caseUrl);

  // ANNA has the case open: KALLE sees her within 2 s, and she sees him
  const kallePresence = kalle.getByRole('status').filter({ hasText: 'Också här' });
  await kalle.getByText('Också här: Anna Testsson').waitFor(within2s);
  await anna.getByText('Också här: Kalle Testsson').waitFor(within2s);

  // KALLE starts his reply; ANNA writes hers, and KALLE sees that she is writing
  await kalle.getByRole('textbox', { name: 'Svar till kunden' }).click();
  await kalle.keyboard.type('Prova att starta om skrivaren.');
  await anna.getByText('Kalle Testsson skriver ett svar…').waitFor(within2s);
  await anna.getByRole('textbox', { name: 'Svar till kunden' }).click();
  await anna.keyboard.type('Jag har skickat en tekniker till er.');
  await kalle.getByText('Anna Testsson skriver ett svar…').waitFor(within2s);

  // ANNA sends first
  await anna.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await anna.getByText('Svaret har sparats. Det skickas till kunden.').waitFor();
  await ctx.smtp.waitFor(1);

  // KALLE's Send is held back: the warning names ANNA and shows her reply, his text is kept
  await kalle.getByRole('button', { name: 'Spara svar', exact: true }).click();
  await kalle.getByText('Anna Testsson skickade ett svar medan du skrev.').waitFor();
  const warning = kalle.locator('section.reply-collision');
  await warning.getByText('Jag har skickat en tekniker till er.').waitFor();
  // the answer opens at the warning, not at the top of the page with the warning below the fold
  const box = await warning.boundingBox();
  assert.ok(
    box && box.y >= 0 && box.y < (kalle.viewportSize()?.height ?? 0),
    `the warning is in view: ${JSON.stringify(box)}`,
  );
  await warning.getByText('Prova att starta om skrivaren.').waitFor();
  assert.is(await kalle.getByRole('textbox', { name: 'Svar till kunden' }).count(), 0, 'no second Send');
  assert.is(ctx.smtp.received.length, 1, 'only ANNA’s mail has gone');

  // Send anyway, pressed twice: one reply, one mail
  await warning.getByRole('button', { name: 'Skicka ändå' }).dblclick();
  await kalle.getByText('Svaret har sparats. Det skickas till kunden.').waitFor();
  const mails = await ctx.smtp.waitFor(2);
  assert.match(String(mails[1]?.parsed.text), 'Prova att starta om skrivaren.');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.is(ctx.smtp.received.length, 2, 'no second mail from the double click');
  const replies = await ctx.db
    .selectFrom('thread_entries')
    .select('id')
    .where('case_id', '=', ctx.kase.id)
    .where('user_id', '=', ctx.kalle.id)
    .where('side', '=', 'staff')
    .execute();
  assert.is(replies.length, 1);
  const outbox = await ctx.db
    .selectFrom('outbox')
    .select('id')
    .where('thread_entry_id', '=', replies[0]?.id as string)
    .execute();
  assert.is(outbox.length, 1);

  // ANNA leaves the case: KALLE (on his page reloaded after sending) no longer sees her
  await kalle.getByText('Också här: Anna Testsson').waitFor();
  await anna.goto(`${ctx.base}/cases`);
  await kallePresence.waitFor({ state: 'detached', ...within2s });

  assert.equal(ctx.kalleBrowser.problems, [], 'no script errors or CSP refusals for KALLE');
  assert.equal(ctx.annaBrowser.problems, [], 'no script errors or CSP refusals for ANNA');
});

test.run();
