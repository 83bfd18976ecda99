import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startApprovalIfRequired } from '../approvals/chains.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { addCaseDocument } from '../documents/documents.ts';
import { createMailSender, type MailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  config: Config;
  sender: MailSender;
  app: FastifyInstance;
  kalle: User;
  client: TestClient;
  customerId: number;
  contactId: number;
};
const test = suite('Undo send: "Send now" holds the mail, Undo takes the reply back while it waits');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.smtp = await startTestSmtpServer();
  ctx.config = testConfig({ SMTP_URL: ctx.smtp.url });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'sv' });
  await seedUser(ctx.db, 'ANNA', 'agent', { language: 'sv' });
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.customerId = customer.id;
  ctx.contactId = contact.id;
  // This process's sender, as src/server.ts runs it, but with a poll too rare to matter: only a
  // kick, or its wake-up when a hold ends, sends anything here.
  ctx.sender = createMailSender({ db: ctx.db, config: ctx.config, log: () => {}, intervalMs: 3_600_000 });
  ctx.sender.start();
  ctx.app = await buildTestApp(ctx.db, { SMTP_URL: ctx.smtp.url }, { mailSender: ctx.sender });
  ctx.client = new TestClient(ctx.app);
  await ctx.client.login('KALLE');
});
test.after(async () => {
  await ctx.sender.stop();
  await ctx.app.close();
  await ctx.smtp.close();
  await ctx.drop();
});

const holdFor = (seconds: number) =>
  ctx.db.updateTable('case_settings').set({ undo_send_seconds: seconds }).where('id', '=', 1).execute();

const newCase = () => seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, ctx.contactId);

// Types a reply in the case's reply box and presses Send now, as the browser sends the form.
async function sendNow(kase: Case, text: string, extra: Record<string, string> = {}, client = ctx.client) {
  const page = await client.get(`/cases/${kase.number}`);
  return client.post(`/cases/${kase.number}/thread`, {
    form_key: formKeyIn(page.body),
    body_html: `<div>${text}</div>`,
    delivery: 'to_send',
    to: 'per@acme.se',
    ...extra,
  });
}

const staffEntries = (kase: Case) =>
  ctx.db
    .selectFrom('thread_entries')
    .select(['id', 'body_html'])
    .where('case_id', '=', kase.id)
    .where('side', '=', 'staff')
    .execute();

async function heldEntryId(kase: Case): Promise<string> {
  const [entry] = await staffEntries(kase);
  if (!entry) throw new Error('no reply in the thread');
  return entry.id;
}

const undo = (kase: Case, entryId: string, client = ctx.client) =>
  client.post(`/cases/${kase.number}/thread/${entryId}/recall`);

// A second instance's sender: its own process, the same database.
async function secondInstanceDelivers(): Promise<number> {
  const other = createMailSender({ db: ctx.db, config: ctx.config, log: () => {} });
  const claimed = await other.runOnce();
  await other.stop();
  return claimed;
}

// The sender marks a message sent right after the server's 250, a moment after the server has it.
async function outboxRowsOnceSent(kase: Case) {
  for (let i = 0; i < 200; i++) {
    const { rows } = await sql<{ status: string; after_hold: boolean | null }>`
      select status, sent_at >= held_until as after_hold from outbox where case_id = ${kase.id}`.execute(ctx.db);
    if (rows.every((r) => r.status === 'sent')) return rows;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the outbox never marked it sent');
}

const hiddenValue = (html: string, id: string) =>
  new RegExp(`id="${id}" type="hidden" name="[^"]+" value="([^"]*)"`).exec(html)?.[1];

test('a held reply shows its countdown and Undo, and leaves neither this sender nor a second instance early', async () => {
  await holdFor(60);
  const kase = await newCase();
  const before = ctx.smtp.received.length;
  const sent = await sendNow(kase, 'Prova fack 1.');
  assert.is(sent.statusCode, 303);
  const page = await ctx.client.get(`/cases/${kase.number}`);
  assert.match(page.body, 'Svaret har sparats. Det skickas till kunden om 60 s; till dess kan du ångra.');
  assert.match(page.body, /Skickas om \d+ s<\/span>/);
  const entryId = await heldEntryId(kase);
  assert.match(page.body, `action="/cases/${kase.number}/thread/${entryId}/recall"`);
  assert.match(page.body, '>Ångra</button>');

  assert.is(await secondInstanceDelivers(), 0, 'a second instance claims nothing while it is held');
  await ctx.sender.runOnce();
  assert.is(ctx.smtp.received.length, before, 'nothing left');
  const [row] = await ctx.db
    .selectFrom('outbox')
    .select(['status', 'attempts'])
    .where('thread_entry_id', '=', entryId)
    .execute();
  assert.equal(row, { status: 'queued', attempts: 0 });
  assert.is((await undo(kase, entryId)).statusCode, 303);
});

test('when the hold ends the sender wakes up by itself and the mail leaves, not before', async () => {
  await holdFor(1);
  const kase = await newCase();
  const before = ctx.smtp.received.length;
  assert.is((await sendNow(kase, 'Kommer om en sekund.')).statusCode, 303);
  const mails = await ctx.smtp.waitFor(before + 1);
  assert.match(String(mails.at(-1)?.parsed.text), 'Kommer om en sekund.');
  assert.equal(await outboxRowsOnceSent(kase), [{ status: 'sent', after_hold: true }]);
  const page = await ctx.client.get(`/cases/${kase.number}`);
  assert.not.match(page.body, '>Ångra</button>', 'no Undo once it has gone');
});

test('Undo puts the reply back in the box, text, addresses, documents and Waiting intact, and nothing is sent', async () => {
  await holdFor(60);
  const kase = await newCase();
  const folder = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('system_key', 'is', null)
    .executeTakeFirstOrThrow();
  const doc = await addCaseDocument(ctx.db, {
    caseId: kase.id,
    folderId: folder.id,
    fileName: 'offert.pdf',
    contentType: 'application/pdf',
    stream: Buffer.from('%PDF-1.4 offert'),
    user: ctx.kalle,
    maxBytes: 1_000_000,
    startApproval: startApprovalIfRequired,
  });
  const statusBefore = (
    await ctx.db.selectFrom('cases').select('status_id').where('id', '=', kase.id).executeTakeFirstOrThrow()
  ).status_id;
  const before = ctx.smtp.received.length;
  const sent = await sendNow(kase, 'Här är <strong>offerten</strong>.', {
    cc: 'chef@acme.se',
    document_ids: String(doc.id),
    set_waiting: 'on',
  });
  assert.is(sent.statusCode, 303);
  const waiting = await ctx.db
    .selectFrom('cases')
    .select('status_id')
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.is.not(waiting.status_id, statusBefore, 'Send now set the case to Waiting');
  const entryId = await heldEntryId(kase);

  const undone = await undo(kase, entryId);
  assert.is(undone.statusCode, 303);
  assert.is(undone.headers.location, `/cases/${kase.number}`);
  const page = await ctx.client.get(`/cases/${kase.number}`);
  assert.match(page.body, 'Skickandet ångrades. Svaret är tillbaka i rutan, inte skickat.');
  assert.match(page.body, 'Ett svar du tog tillbaka ligger i rutan nedan, inte skickat.');
  assert.is(
    hiddenValue(page.body, 'reply-body'),
    '&lt;div&gt;Här är &lt;strong&gt;offerten&lt;/strong&gt;.&lt;/div&gt;',
  );
  assert.match(page.body, /id="reply-to"[^>]*value="per@acme.se"/);
  assert.match(page.body, /id="reply-cc"[^>]*value="chef@acme.se"/);
  assert.match(page.body, `name="document_ids" value="${doc.id}" checked`);
  assert.match(page.body, 'name="set_waiting" value="on" checked');
  assert.is(page.body.match(/Skickas om \d+ s/g), null, 'the reply is no longer in the thread');

  assert.equal(await staffEntries(kase), []);
  assert.equal(await ctx.db.selectFrom('outbox').select('id').where('case_id', '=', kase.id).execute(), []);
  const status = await ctx.db
    .selectFrom('cases')
    .select('status_id')
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.is(status.status_id, statusBefore, 'the status it had before comes back');
  const history = await ctx.client.get(`/cases/${kase.number}/history`);
  assert.match(history.body, 'Skickandet ångrat');
  await ctx.sender.runOnce();
  assert.is(await secondInstanceDelivers(), 0);
  assert.is(ctx.smtp.received.length, before, 'no mail left');

  // Sent again from the box: the draft is used up, and this time it goes.
  await holdFor(0);
  const again = await sendNow(kase, 'Här är <strong>offerten</strong>.', {
    cc: 'chef@acme.se',
    document_ids: String(doc.id),
  });
  assert.is(again.statusCode, 303);
  const mails = await ctx.smtp.waitFor(before + 1);
  assert.equal(mails.at(-1)?.envelopeTo, ['per@acme.se', 'chef@acme.se']);
  assert.equal(
    mails.at(-1)?.parsed.attachments.map((a) => a.filename),
    ['offert.pdf'],
  );
  const after = await ctx.client.get(`/cases/${kase.number}`);
  assert.not.match(after.body, 'Ett svar du tog tillbaka');
  assert.is(hiddenValue(after.body, 'reply-body'), '');
});

test('Undo twice is harmless; Undo after the hold, or after sending, answers "already sent" and changes nothing', async () => {
  await holdFor(60);
  const kase = await newCase();
  assert.is((await sendNow(kase, 'Två ångra.')).statusCode, 303);
  const entryId = await heldEntryId(kase);
  const [first, second] = [await undo(kase, entryId), await undo(kase, entryId)];
  assert.equal([first.statusCode, second.statusCode, second.headers.location], [303, 303, `/cases/${kase.number}`]);
  const drafts = await ctx.db.selectFrom('drafts').select('body_html').where('case_id', '=', kase.id).execute();
  assert.equal(drafts, [{ body_html: '<div>Två ångra.</div>' }]);

  // The hold over (and the sender perhaps at it): too late, whoever gets there first.
  assert.is((await sendNow(kase, 'För sent.')).statusCode, 303);
  const lateId = String((await staffEntries(kase)).find((e) => e.body_html.includes('För sent'))?.id);
  await sql`update outbox set held_until = clock_timestamp() where thread_entry_id = ${lateId}`.execute(ctx.db);
  const late = await undo(kase, lateId);
  assert.is(late.statusCode, 409);
  assert.match(late.body, 'För sent att ångra: svaret har redan skickats.');
  assert.equal(
    (await staffEntries(kase)).map((e) => String(e.id)),
    [lateId],
  );

  // After it was sent.
  await holdFor(1);
  const gone = await newCase();
  assert.is((await sendNow(gone, 'Redan iväg.')).statusCode, 303);
  assert.equal(await outboxRowsOnceSent(gone), [{ status: 'sent', after_hold: true }]);
  const sentId = await heldEntryId(gone);
  const tooLate = await undo(gone, sentId);
  assert.is(tooLate.statusCode, 409);
  assert.match(tooLate.body, 'För sent att ångra');
  assert.is((await staffEntries(gone)).length, 1);
  assert.equal(await outboxRowsOnceSent(gone), [{ status: 'sent', after_hold: true }]);
});

test('Undo is a POST with the CSRF token, by the reply’s writer, on its own case', async () => {
  await holdFor(60);
  const kase = await newCase();
  const other = await newCase();
  assert.is((await sendNow(kase, 'Bara min.')).statusCode, 303);
  const entryId = await heldEntryId(kase);
  const url = `/cases/${kase.number}/thread/${entryId}/recall`;

  assert.is((await ctx.client.get(url)).statusCode, 404, 'no GET');
  assert.is((await ctx.client.post(url, { _csrf: '' })).statusCode, 403, 'no CSRF token');
  const anna = new TestClient(ctx.app);
  await anna.login('ANNA');
  const annasPage = await anna.get(`/cases/${kase.number}`);
  assert.match(annasPage.body, /Skickas om \d+ s/, 'a colleague sees the countdown');
  assert.not.match(annasPage.body, '>Ångra</button>', 'but no Undo');
  assert.is((await anna.post(url)).statusCode, 403, 'a colleague may not');
  assert.is((await undo(other, entryId)).statusCode, 404, "another case's URL");
  const customerEntry = await ctx.db
    .selectFrom('thread_entries')
    .select('id')
    .where('case_id', '=', kase.id)
    .where('side', '=', 'customer')
    .executeTakeFirstOrThrow();
  assert.is((await undo(kase, customerEntry.id)).statusCode, 404, 'not a staff reply');
  assert.is((await undo(kase, '99999999')).statusCode, 404);
  assert.is((await undo(kase, 'x')).statusCode, 404);

  assert.equal(
    (await staffEntries(kase)).map((e) => e.id),
    [entryId],
    'nothing changed',
  );
  const held = await ctx.db
    .selectFrom('outbox')
    .select('status')
    .where('thread_entry_id', '=', entryId)
    .executeTakeFirstOrThrow();
  assert.is(held.status, 'queued');
  assert.is((await undo(kase, entryId)).statusCode, 303);
});

test('a reply taken back can be discarded; the box is empty again', async () => {
  await holdFor(60);
  const kase = await newCase();
  assert.is((await sendNow(kase, 'Ångrar och slänger.')).statusCode, 303);
  assert.is((await undo(kase, await heldEntryId(kase))).statusCode, 303);
  const page = await ctx.client.get(`/cases/${kase.number}`);
  assert.match(page.body, `action="/cases/${kase.number}/reply-draft/deletion"`);
  const discarded = await ctx.client.post(`/cases/${kase.number}/reply-draft/deletion`);
  assert.is(discarded.statusCode, 303);
  const after = await ctx.client.get(`/cases/${kase.number}`);
  assert.match(after.body, 'Svaret du tog tillbaka har slängts.');
  assert.is(hiddenValue(after.body, 'reply-body'), '');
  assert.match(after.body, /id="reply-to"[^>]*value="per@acme.se"/, "back to the case's contact");
  assert.equal(await ctx.db.selectFrom('drafts').select('case_id').where('case_id', '=', kase.id).execute(), []);
});

test('with the setting at 0, Send now goes at once and offers no Undo', async () => {
  await holdFor(0);
  const kase = await newCase();
  const before = ctx.smtp.received.length;
  assert.is((await sendNow(kase, 'Direkt.')).statusCode, 303);
  const page = await ctx.client.get(`/cases/${kase.number}`);
  assert.match(page.body, 'Svaret har sparats. Det skickas till kunden.');
  assert.not.match(page.body, '>Ångra</button>');
  await ctx.smtp.waitFor(before + 1);
});

test.run();
