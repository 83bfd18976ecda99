import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { createMailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  config: Config;
  app: FastifyInstance;
  kalle: TestClient;
  kase: Case;
  other: Case;
};
const test = suite('A reply sent twice (F2 twice, a double click) is one reply and one mail');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.smtp = await startTestSmtpServer();
  ctx.config = testConfig({ SMTP_URL: ctx.smtp.url });
  const kalle = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'sv' });
  await seedUser(ctx.db, 'ANNA');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, kalle, customer.id, contact.id);
  ctx.other = await seedPrinterJamCase(ctx.db, kalle, customer.id, contact.id);
  // Send now goes at once here; the hold for Undo is undo-send.test.ts's subject.
  await ctx.db.updateTable('case_settings').set({ undo_send_seconds: 0 }).execute();
  ctx.app = await buildTestApp(ctx.db, { SMTP_URL: ctx.smtp.url });
  ctx.kalle = new TestClient(ctx.app);
  await ctx.kalle.login('KALLE');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.smtp.close();
  await ctx.drop();
});

// Every message due now goes to the test SMTP server.
const deliver = async () => {
  const sender = createMailSender({ db: ctx.db, config: ctx.config, log: () => {} });
  await sender.runOnce();
  await sender.stop();
};

const staffReplies = (kase: Case) =>
  ctx.db
    .selectFrom('thread_entries')
    .select(['id', 'body_html'])
    .where('case_id', '=', kase.id)
    .where('side', '=', 'staff')
    .orderBy('id')
    .execute();

const replyForm = (formKey: string, text: string) => ({
  form_key: formKey,
  body_html: `<div>${text}</div>`,
  delivery: 'to_send',
  to: 'per@acme.se',
});

async function freshFormKey(client: TestClient, kase = ctx.kase): Promise<string> {
  return formKeyIn((await client.get(`/cases/${kase.number}`)).body);
}

test('the same reply form sent twice in a row makes one entry and one mail, and both get the same answer', async () => {
  const url = `/cases/${ctx.kase.number}/thread`;
  const key = await freshFormKey(ctx.kalle);
  const first = await ctx.kalle.post(url, replyForm(key, 'Prova fack 1.'));
  const second = await ctx.kalle.post(url, replyForm(key, 'Prova fack 1.'));
  assert.is(first.statusCode, 303);
  assert.is(second.statusCode, 303);
  assert.is(second.headers.location, first.headers.location);
  assert.equal(
    (await staffReplies(ctx.kase)).map((r) => r.body_html),
    ['<div>Prova fack 1.</div>'],
  );
  await deliver();
  assert.is(ctx.smtp.received.length, 1, 'the customer gets one mail');
  assert.match(String(ctx.smtp.received[0]?.parsed.text), 'Prova fack 1.');

  // The page after it has a new form with a new key: the next reply is a reply of its own.
  const next = await freshFormKey(ctx.kalle);
  assert.is.not(next, key);
  assert.is((await ctx.kalle.post(url, replyForm(next, 'Och fack 2.'))).statusCode, 303);
  assert.is((await staffReplies(ctx.kase)).length, 2);
  await deliver();
  assert.is(ctx.smtp.received.length, 2);
});

test('the same reply form sent twice at once makes one entry and one mail', async () => {
  const url = `/cases/${ctx.other.number}/thread`;
  const key = await freshFormKey(ctx.kalle, ctx.other);
  const before = ctx.smtp.received.length;
  const answers = await Promise.all([
    ctx.kalle.post(url, replyForm(key, 'Samtidigt.')),
    ctx.kalle.post(url, replyForm(key, 'Samtidigt.')),
  ]);
  assert.equal(
    answers.map((a) => [a.statusCode, a.headers.location]),
    [
      [303, `/cases/${ctx.other.number}`],
      [303, `/cases/${ctx.other.number}`],
    ],
  );
  assert.is((await staffReplies(ctx.other)).length, 1);
  const outbox = await ctx.db.selectFrom('outbox').select('id').where('case_id', '=', ctx.other.id).execute();
  assert.is(outbox.length, 1);
  await deliver();
  assert.is(ctx.smtp.received.length, before + 1);
});

test('a used key is refused with 409 for other text, another case or another user, and nothing is stored', async () => {
  const key = await freshFormKey(ctx.kalle);
  const url = `/cases/${ctx.kase.number}/thread`;
  assert.is((await ctx.kalle.post(url, replyForm(key, 'Första texten.'))).statusCode, 303);
  const count = (await staffReplies(ctx.kase)).length;

  const otherText = await ctx.kalle.post(url, replyForm(key, 'Annan text.'));
  assert.is(otherText.statusCode, 409);
  assert.match(otherText.body, 'Formuläret har redan skickats med annat innehåll');
  const otherCase = await ctx.kalle.post(`/cases/${ctx.other.number}/thread`, replyForm(key, 'Första texten.'));
  assert.is(otherCase.statusCode, 409);
  const anna = new TestClient(ctx.app);
  await anna.login('ANNA');
  await anna.get(`/cases/${ctx.kase.number}`);
  assert.is((await anna.post(url, replyForm(key, 'Första texten.'))).statusCode, 409);

  assert.is((await staffReplies(ctx.kase)).length, count);
  assert.is((await staffReplies(ctx.other)).length, 1);
});

test('a form without a key still works, once per request; a malformed key is refused with 422', async () => {
  const url = `/cases/${ctx.kase.number}/thread`;
  const count = (await staffReplies(ctx.kase)).length;
  const form = { body_html: '<div>Utan nyckel.</div>', delivery: 'saved' };
  assert.is((await ctx.kalle.post(url, form)).statusCode, 303);
  assert.is((await ctx.kalle.post(url, form)).statusCode, 303);
  assert.is((await staffReplies(ctx.kase)).length, count + 2);

  for (const bad of ['kort', 'x'.repeat(65), 'nyckel med mellanslag!!']) {
    assert.is((await ctx.kalle.post(url, { ...form, form_key: bad })).statusCode, 422, bad);
  }
  const twice = await ctx.kalle.request({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(ctx.kalle.csrf)}&body_html=x&form_key=${'a'.repeat(22)}&form_key=${'b'.repeat(22)}`,
  });
  assert.is(twice.statusCode, 422, 'a repeated key field');
  assert.is((await staffReplies(ctx.kase)).length, count + 2);
});

test.run();
