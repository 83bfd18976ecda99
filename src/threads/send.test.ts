import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startApprovalIfRequired } from '../approvals/chains.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Case, Delivery, ThreadSide, User } from '../db/schema.ts';
import { addCaseDocument } from '../documents/documents.ts';
import { storeInlineImage } from '../documents/inline-images.ts';
import { previewMail } from '../mail/outbound/preview.ts';
import { createMailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { canSendToCustomer, type MailState } from './send.ts';
import { addStaffReply } from './threads.ts';

const pixel = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  config: Config;
  app: FastifyInstance;
  client: TestClient;
  kicks: number;
  kalle: User;
  kase: Case;
};

const rules = suite('Which replies Send to customer may send');

rules('only staff replies that were saved, or whose mail failed or was cancelled', () => {
  const sides: ThreadSide[] = ['customer', 'staff', 'system'];
  const deliveries: Delivery[] = ['none', 'to_send', 'saved'];
  const states: MailState[] = [null, 'queued', 'sending', 'sent', 'failed', 'cancelled'];
  const allowed: string[] = [];
  for (const side of sides) {
    for (const delivery of deliveries) {
      for (const mailState of states) {
        if (canSendToCustomer({ side, delivery, mailState })) allowed.push(`${side}/${delivery}/${mailState}`);
      }
    }
  }
  assert.equal(allowed, [
    'staff/none/failed',
    'staff/none/cancelled',
    'staff/to_send/failed',
    'staff/to_send/cancelled',
    'staff/saved/null',
    'staff/saved/failed',
    'staff/saved/cancelled',
  ]);
});

rules.run();

const test = suite('Manage → Send to customer over HTTP and real SMTP');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, kicks: 0 });
  ctx.smtp = await startTestSmtpServer();
  ctx.config = testConfig({ SMTP_URL: ctx.smtp.url });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'sv' });
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, contact.id);
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Åkes Support', from_address: 'support@casedesk.test', reply_to_address: 'inbox@casedesk.test' })
    .execute();
  ctx.app = await buildTestApp(ctx.db, { SMTP_URL: ctx.smtp.url }, { mailSender: { kick: () => ctx.kicks++ } });
  ctx.client = new TestClient(ctx.app);
  await ctx.client.login('KALLE');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.smtp.close();
  await ctx.drop();
});

// One sender run, then its SMTP connections are closed (as on shutdown).
const deliver = async () => {
  const sender = createMailSender({ db: ctx.db, config: ctx.config, log: () => {} });
  await sender.runOnce();
  await sender.stop();
};

const saveReply = (body_html: string) =>
  addStaffReply(ctx.db, ctx.kase.id, { body_html, delivery: 'saved' }, ctx.kalle, { config: ctx.config });

const mailUrl = (entryId: string, query = '') => `/cases/${ctx.kase.number}/thread/${entryId}/mail${query}`;
// The Send form of a preview page as a browser would post it: its hidden fields and the token.
const sendFormIn = (html: string): URLSearchParams => {
  const form = /<form method="post"[^>]*class="actions send-form">([\s\S]*?)<\/form>/.exec(html)?.[1] ?? '';
  const fromHtml = (v: string) =>
    v
      .replaceAll('&quot;', '"')
      .replaceAll('&#39;', "'")
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&amp;', '&');
  return new URLSearchParams(
    [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
      m[1] as string,
      fromHtml(m[2] as string),
    ]),
  );
};
const send = (entryId: string, form: URLSearchParams) =>
  ctx.client.request({
    method: 'POST',
    url: mailUrl(entryId),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form.toString(),
  });
const changed = (form: URLSearchParams, name: string, value: string) => {
  const copy = new URLSearchParams(form);
  copy.set(name, value);
  return copy;
};
// Every table's content, digested: what a request that writes nothing leaves as it was.
const databaseState = async () => {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(ctx.db);
  const state: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const { rows } = await sql<{ digest: string }>`
      select count(*) || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest
      from ${sql.table(name)} t`.execute(ctx.db);
    state[name] = rows[0]?.digest ?? '';
  }
  return state;
};
const outboxOf = (entryId: string) =>
  ctx.db.selectFrom('outbox').selectAll().where('thread_entry_id', '=', entryId).orderBy('id').execute();

test('a saved reply with a pasted image is previewed as it will leave, sent once, and delivered', async () => {
  const image = await storeInlineImage(ctx.db, {
    content: Readable.from([pixel]),
    user: ctx.kalle,
    maxBytes: 1_000_000,
    caseId: ctx.kase.id,
  });
  const entry = await saveReply(
    `<div>Hej Per! Prova fack två: <figure><img src="/uploads/images/${image.token}"></figure> Hälsningar Kalle</div>`,
  );

  const page = await ctx.client.get(mailUrl(entry.id));
  assert.is(page.statusCode, 200);
  assert.match(page.body, `[#${ctx.kase.number}] Skrivaren fastnar`);
  assert.match(page.body, /<dt>Till<\/dt><dd>per@acme\.se<\/dd>/);
  assert.match(page.body, 'Åkes Support &lt;support@casedesk.test&gt;');
  assert.match(page.body, 'inbox@casedesk.test');
  assert.match(page.body, `<img src="data:image/png;base64,${pixel.toString('base64')}"`);
  assert.not.match(page.body, 'cid:', 'no image is left pointing at a part the browser cannot load');
  assert.match(page.body, /<pre>[^<]*Hej Per! Prova fack två/, 'the plain-text alternative is shown');
  assert.match(page.body, '>Skicka</button>');
  const form = sendFormIn(page.body);
  assert.equal([form.get('to'), form.get('cc'), form.getAll('documents')], ['per@acme.se', '', []]);
  assert.match(form.get('digest') ?? '', /^[0-9a-f]{64}$/);
  assert.is((await outboxOf(entry.id)).length, 0, 'a preview stores nothing');
  const casePage = await ctx.client.get(`/cases/${ctx.kase.number}`);
  assert.match(casePage.body, 'Sparat, inte skickat', 'a preview sends nothing');

  const kicks = ctx.kicks;
  const sent = await send(entry.id, form);
  assert.is(sent.statusCode, 303);
  assert.is(sent.headers.location, `/cases/${ctx.kase.number}`);
  assert.is(ctx.kicks, kicks + 1, 'the sender is nudged');
  const [queued] = await outboxOf(entry.id);
  assert.is(queued?.status, 'queued');
  const stored = await ctx.db
    .selectFrom('thread_entries')
    .select(['delivery', 'message_id'])
    .where('id', '=', entry.id)
    .executeTakeFirstOrThrow();
  assert.is(stored.delivery, 'to_send');
  const event = await ctx.db
    .selectFrom('case_events')
    .select(['kind', 'new_value', 'user_id'])
    .where('case_id', '=', ctx.kase.id)
    .where('kind', '=', 'email_queued')
    .executeTakeFirstOrThrow();
  assert.equal(event, { kind: 'email_queued', new_value: 'per@acme.se', user_id: ctx.kalle.id });
  const after = await ctx.client.get(`/cases/${ctx.kase.number}`);
  assert.match(after.body, 'Lagt i utkorgen — skickas nu.');

  // A second click on the same Send is refused; only one mail leaves.
  const twice = await send(entry.id, form);
  assert.is(twice.statusCode, 409);
  assert.match(twice.body, 'Förhandsvisningen är inaktuell');
  await deliver();
  const [mail] = await ctx.smtp.waitFor(1);
  await deliver();
  assert.is(ctx.smtp.received.length, 1);
  assert.ok(mail);
  assert.is(mail.parsed.messageId, queued?.message_id);
  assert.is(mail.parsed.messageId, stored.message_id);
  assert.equal(mail.envelopeTo, ['per@acme.se']);
  assert.match(String(mail.parsed.html), 'Hej Per! Prova fack två');
  const inline = mail.parsed.attachments.find((a) => a.contentDisposition === 'inline');
  assert.is(
    createHash('sha256')
      .update(inline?.content ?? '')
      .digest('hex'),
    createHash('sha256').update(pixel).digest('hex'),
  );
  assert.ok(mail.raw.equals(queued?.raw as Buffer), 'the very bytes that were queued');
  assert.is((await previewMail(mail.raw)).digest, form.get('digest'), 'the mail that was previewed');

  // Sent: no Send to customer any more.
  const gone = await ctx.client.get(mailUrl(entry.id));
  assert.is(gone.statusCode, 404);
  assert.match(gone.body, 'Svaret har redan skickats');
  assert.not.match(gone.body, 'name="digest"');
});

test('the preview follows a changed To and Cc, and Send sends to those', async () => {
  const entry = await saveReply('<div>Till chefen</div>');
  const page = await ctx.client.get(mailUrl(entry.id, '?to=chef%40acme.se&cc=per%40acme.se%2C+ekonomi%40acme.se'));
  assert.is(page.statusCode, 200);
  assert.match(page.body, /<dt>Till<\/dt><dd>chef@acme\.se<\/dd>/);
  assert.match(page.body, /<dt>Kopia<\/dt><dd>per@acme\.se, ekonomi@acme\.se<\/dd>/);
  assert.match(page.body, 'value="chef@acme.se"', 'the form keeps what was typed');
  assert.is((await send(entry.id, sendFormIn(page.body))).statusCode, 303);
  const [queued] = await outboxOf(entry.id);
  assert.equal(queued?.envelope_to, ['chef@acme.se', 'per@acme.se', 'ekonomi@acme.se']);
});

test('without a recipient the page says so beside To and offers no Send', async () => {
  const entry = await saveReply('<div>Ingen mottagare</div>');
  const page = await ctx.client.get(mailUrl(entry.id, '?to=&cc='));
  assert.is(page.statusCode, 422);
  assert.match(page.body, /id="send-to-error">Skriv e-postadressen som svaret ska till\./);
  assert.not.match(page.body, 'name="digest"');
  assert.is((await outboxOf(entry.id)).length, 0);
  const wrong = await ctx.client.get(mailUrl(entry.id, '?to=inte-en-adress'));
  assert.is(wrong.statusCode, 422);
  assert.match(wrong.body, 'id="send-to-error"');
});

test('Send refuses a mail other than the one previewed, and sends the one a second tab shows', async () => {
  const entry = await saveReply('<div>Två flikar</div>');
  const first = sendFormIn((await ctx.client.get(mailUrl(entry.id))).body);
  // Another address than the preview's, or a forged digest: not what anyone looked at.
  for (const form of [changed(first, 'to', 'annan@acme.se'), changed(first, 'digest', '0'.repeat(64))]) {
    const refused = await send(entry.id, form);
    assert.is(refused.statusCode, 409);
    assert.match(refused.body, 'Förhandsvisningen är inaktuell');
    assert.match(refused.body, `href="${mailUrl(entry.id)}"`, 'with a way to look again');
  }
  // The case's title, and so the subject, changed after the preview.
  await ctx.db.updateTable('cases').set({ title: 'Skrivaren fastnar igen' }).where('id', '=', ctx.kase.id).execute();
  assert.is((await send(entry.id, first)).statusCode, 409);
  assert.is((await outboxOf(entry.id)).length, 0, 'nothing was queued');
  const second = sendFormIn((await ctx.client.get(mailUrl(entry.id, '?to=chef%40acme.se'))).body);
  await ctx.db.updateTable('cases').set({ title: ctx.kase.title }).where('id', '=', ctx.kase.id).execute();
  assert.is((await send(entry.id, second)).statusCode, 409, 'the title changed back: not this preview either');
  // The tab that looked last at the current state sends what it shows, once.
  const third = sendFormIn((await ctx.client.get(mailUrl(entry.id, '?to=chef%40acme.se'))).body);
  assert.is((await send(entry.id, third)).statusCode, 303);
  assert.is((await send(entry.id, first)).statusCode, 409);
  const rows = await outboxOf(entry.id);
  assert.equal(
    rows.map((r) => [r.status, r.envelope_to]),
    [['queued', ['chef@acme.se']]],
  );
  // A reply of another case, or of none, has no Send here.
  assert.is((await send('999999', third)).statusCode, 404);
});

test('a reply whose mail failed can be sent again, as a new message with the same documents', async () => {
  const folder = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('system_key', 'is', null)
    .executeTakeFirstOrThrow();
  const doc = await addCaseDocument(ctx.db, {
    caseId: ctx.kase.id,
    folderId: folder.id,
    fileName: 'offert.pdf',
    contentType: 'application/pdf',
    stream: Buffer.from('%PDF-1.4 offert'),
    user: ctx.kalle,
    maxBytes: 1_000_000,
    startApproval: startApprovalIfRequired,
  });
  ctx.smtp.setAnswer(() => 550);
  const entry = await addStaffReply(
    ctx.db,
    ctx.kase.id,
    { body_html: '<div>Fel adress</div>', delivery: 'to_send', to: ['nobody@acme.se'], document_ids: [String(doc.id)] },
    ctx.kalle,
    { config: ctx.config },
  );
  await deliver();
  ctx.smtp.setAnswer(() => 250);
  const [failed] = await outboxOf(entry.id);
  assert.is(failed?.status, 'failed');

  const page = await ctx.client.get(mailUrl(entry.id));
  assert.is(page.statusCode, 200);
  assert.match(page.body, /<dt>Till<\/dt><dd>per@acme\.se<\/dd>/, "the case's contact by default");
  assert.match(page.body, `name="documents" value="${doc.id}" checked`, 'the documents it had are ticked');
  assert.match(page.body, /<li>offert\.pdf <span class="hint">\(15 B\)<\/span><\/li>/);
  const casePage = await ctx.client.get(`/cases/${ctx.kase.number}`);
  assert.match(casePage.body, 'Kunde inte levereras', 'a preview does not hide that it failed');

  const before = ctx.smtp.received.length;
  const sent = await send(entry.id, sendFormIn(page.body));
  assert.is(sent.statusCode, 303);
  await deliver();
  const received = await ctx.smtp.waitFor(before + 1);
  const mail = received.at(-1);
  assert.equal(mail?.envelopeTo, ['per@acme.se']);
  assert.is(mail?.parsed.attachments.find((a) => a.filename === 'offert.pdf')?.content.toString(), '%PDF-1.4 offert');
  assert.ok(mail?.parsed.messageId && mail.parsed.messageId !== failed?.message_id);
  const rows = await outboxOf(entry.id);
  assert.equal(
    rows.map((r) => r.status),
    ['failed', 'sent'],
  );
});

test('looking at the Send page, as an <img> in a post makes every reader do, writes nothing', async () => {
  const folder = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('system_key', 'is', null)
    .executeTakeFirstOrThrow();
  const doc = await addCaseDocument(ctx.db, {
    caseId: ctx.kase.id,
    folderId: folder.id,
    fileName: 'prislista.pdf',
    contentType: 'application/pdf',
    stream: Buffer.from('%PDF-1.4 prislista'),
    user: ctx.kalle,
    maxBytes: 1_000_000,
    startApproval: startApprovalIfRequired,
  });
  // A reply whose mail failed: it has a Message-ID, an outbox row and an attached document,
  // all of which a Send would replace.
  ctx.smtp.setAnswer(() => 550);
  const entry = await addStaffReply(
    ctx.db,
    ctx.kase.id,
    { body_html: '<div>Prislistan</div>', delivery: 'to_send', to: ['fel@acme.se'], document_ids: [String(doc.id)] },
    ctx.kalle,
    { config: ctx.config },
  );
  await deliver();
  ctx.smtp.setAnswer(() => 250);
  const saved = await saveReply('<div>Bara sparat</div>');
  // A colleague whose browser loads the page as an image.
  await seedUser(ctx.db, 'ANNA', 'agent', { language: 'sv' });
  const anna = new TestClient(ctx.app);
  await anna.login('ANNA');

  const before = await databaseState();
  for (const url of [
    mailUrl(entry.id),
    mailUrl(entry.id, '?to=per%40acme.se&cc='),
    mailUrl(entry.id, `?to=per%40acme.se&documents=${doc.id}&documents=${doc.id}`),
    mailUrl(entry.id, '?to='),
    mailUrl(saved.id),
  ]) {
    const page = await anna.get(url, { headers: { accept: 'image/avif,image/webp,*/*' } });
    assert.ok([200, 422].includes(page.statusCode), `${url}: ${page.statusCode}`);
  }
  assert.equal(await databaseState(), before);
});

test('only staff replies of this case have a Send page', async () => {
  const customerEntry = await ctx.db
    .selectFrom('thread_entries')
    .select('id')
    .where('case_id', '=', ctx.kase.id)
    .where('side', '=', 'customer')
    .executeTakeFirstOrThrow();
  assert.is((await ctx.client.get(mailUrl(customerEntry.id))).statusCode, 404);
  assert.is((await ctx.client.get(mailUrl('999999'))).statusCode, 404);
  assert.is((await ctx.client.get(mailUrl('abc'))).statusCode, 404);
});

test('the Manage menu lists the replies waiting to be sent, newest first, or says there are none', async () => {
  const page = await ctx.client.get(`/cases/${ctx.kase.number}`);
  assert.match(page.body, '<summary class="button">Hantera</summary>');
  const waiting = [...page.body.matchAll(/<li><a href="\/cases\/[^/]+\/thread\/(\d+)\/mail">Skicka till kunden/g)].map(
    (m) => Number(m[1]),
  );
  assert.ok(waiting.length >= 3);
  assert.equal(
    waiting,
    [...waiting].sort((a, b) => b - a),
  );
  assert.match(page.body, '· Bara sparat</span>', 'with the start of each text');

  const { customer } = await ctx.db
    .selectFrom('customers')
    .select('id as customer')
    .where('number', '=', 'K1001')
    .executeTakeFirstOrThrow();
  const quiet = await seedPrinterJamCase(ctx.db, ctx.kalle, customer);
  const empty = await ctx.client.get(`/cases/${quiet.number}`);
  assert.match(empty.body, /aria-disabled="true">Skicka till kunden<\/span> <span class="hint">Inga sparade svar/);
});

test.run();
