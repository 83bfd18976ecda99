import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCase } from '../cases/cases.ts';
import type { Config } from '../config.ts';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { submitForApproval } from '../test-support/approvals.ts';
import { createTestDatabase } from '../test-support/database.ts';

// Issue 15, item 10: the approval chain's document case looks like what it is — no customer
// side, its system lines in each reader's language, and handed on by the system.

// http: an https address would make the session cookie Secure, which app.inject() does not send back
const env = { PUBLIC_URL: 'http://casedesk.example.com' };
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  config: Config;
  kalle: User;
  anna: User;
  erik: User;
  customerId: number;
  avtal: number;
};
const test = suite('The approval document case shows what it is');

const submit = (fileName: string) =>
  submitForApproval(ctx.db, {
    fileName,
    customerId: ctx.customerId,
    folderId: ctx.avtal,
    by: ctx.erik,
    config: ctx.config,
    language: 'sv',
  });

async function as(login: string) {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
}

// The mails to a user, as their reader shows them (subject and decoded text).
async function mailsTo(user: User) {
  const rows = await ctx.db
    .selectFrom('outbox')
    .select(['subject', 'raw', 'created_by'])
    .where((eb) => eb('envelope_to', '@>', eb.val([user.email as string])))
    .orderBy('id')
    .execute();
  return Promise.all(
    rows.map(async (row) => ({
      subject: row.subject,
      text: (await simpleParser(row.raw ?? Buffer.alloc(0))).text ?? '',
      createdBy: row.created_by,
    })),
  );
}

// The thread's entries as a reader sees them: the text of each bubble, tags stripped.
function threadTexts(html: string): string[] {
  const list = /<ol class="thread">([\s\S]*?)<\/ol>/.exec(html)?.[1] ?? '';
  return [...list.matchAll(/<div class="rich-text">([\s\S]*?)<\/div>/g)].map((m) =>
    (m[1] ?? '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .replaceAll('&quot;', '"')
      .trim(),
  );
}

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db, env), config: testConfig(env) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'sv' });
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent', { language: 'en' });
  ctx.erik = await seedUser(ctx.db, 'ERIK', 'agent', { language: 'sv' });
  ctx.customerId = (await createCustomer(ctx.db, { number: 'K1001', name: 'Acme AB', email_domains: [] })).id;
  const folder = await ctx.db
    .insertInto('document_folders')
    .values({ name: 'Avtal', position: 5 })
    .returning('id')
    .executeTakeFirstOrThrow();
  ctx.avtal = folder.id;
  const s = await ctx.db
    .insertInto('approval_structures')
    .values({ name: 'Avtalsattest' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('approval_structure_steps')
    .values([
      { structure_id: s.id, position: 1, approver_ids: [ctx.kalle.id] },
      { structure_id: s.id, position: 2, approver_ids: [ctx.anna.id] },
    ])
    .execute();
  await ctx.db
    .updateTable('document_folders')
    .set({ approval_structure_id: s.id })
    .where('id', '=', ctx.avtal)
    .execute();
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('the document case has no reply box and no customer header; an ordinary case keeps both', async () => {
  const { caseNumber } = await submit('avtal-1.pdf');
  const kalle = await as('kalle');
  const page = await kalle.get(`/cases/${caseNumber}`);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Attest: avtal-1.pdf');
  assert.not.match(page.body, 'class="reply-box"');
  assert.not.match(page.body, 'Svar till kunden');
  assert.not.match(page.body, 'class="case-customer"');
  assert.not.match(page.body, 'id="f-customer"');
  assert.not.match(page.body, 'id="f-contact_id"');
  assert.not.match(page.body, 'Skicka till kunden');
  // the thread tab on its own (htmx) shows no reply box either
  const fragment = await kalle.get(`/cases/${caseNumber}/thread`, { headers: { 'hx-request': 'true' } });
  assert.is(fragment.statusCode, 200);
  assert.not.match(fragment.body, 'class="reply-box"');
  // and a reply posted by hand is refused, with nothing written and no mail queued
  const posted = await kalle.post(`/cases/${caseNumber}/thread`, {
    body_html: '<div>Hej kund</div>',
    delivery: 'to_send',
    to: 'per@acme.se',
  });
  assert.is(posted.statusCode, 403);
  assert.is(
    (await kalle.post(`/cases/${caseNumber}/reply-draft`, { body_html: '<div>Hej kund</div>' })).statusCode,
    403,
  );
  const staffEntries = await ctx.db
    .selectFrom('thread_entries')
    .innerJoin('cases', 'cases.id', 'thread_entries.case_id')
    .select('thread_entries.id')
    .where('cases.number', '=', caseNumber)
    .where('thread_entries.side', '=', 'staff')
    .execute();
  assert.is(staffEntries.length, 0);
  // the header still saves, keeping the customer it had
  const version = /name="version" value="(\d+)"/.exec(page.body)?.[1] ?? '';
  const customer = /type="hidden" name="customer" value="([^"]*)"/.exec(page.body)?.[1];
  assert.is(customer, 'K1001');
  const status = /name="status_id"[\s\S]*?<option value="(\d+)" selected/.exec(page.body)?.[1] ?? '';
  const type = /name="case_type_id"[\s\S]*?<option value="(\d+)" selected/.exec(page.body)?.[1] ?? '';
  const saved = await kalle.post(`/cases/${caseNumber}/header`, {
    version,
    title: 'Attest: avtal-1.pdf (brådskande)',
    responsible_id: String(ctx.kalle.id),
    customer: customer ?? '',
    status_id: status,
    case_type_id: type,
    priority_id: '',
    due_date: '',
    contact_id: '',
    contact_name: '',
    contact_email: '',
    contact_phone: '',
  });
  assert.is(saved.statusCode, 303);
  const kase = await ctx.db
    .selectFrom('cases')
    .select(['title', 'customer_id'])
    .where('number', '=', caseNumber)
    .executeTakeFirstOrThrow();
  assert.equal(kase, { title: 'Attest: avtal-1.pdf (brådskande)', customer_id: ctx.customerId });

  // an ordinary case of the same customer still has both
  const other = await createCase(
    ctx.db,
    {
      title: 'Skrivaren',
      responsible_id: ctx.kalle.id,
      customer_id: ctx.customerId,
      status_id: (await ctx.db.selectFrom('case_statuses').select('id').orderBy('position').executeTakeFirstOrThrow())
        .id,
      case_type_id: (
        await ctx.db.selectFrom('case_types').select('id').where('system_key', 'is', null).executeTakeFirstOrThrow()
      ).id,
      priority_id: null,
      due_date: null,
      contact_id: null,
      contact_name: null,
      contact_email: null,
      contact_phone: null,
      body_html: '<p>Skrivaren är trasig.</p>',
    },
    ctx.kalle,
  );
  const ordinary = await kalle.get(`/cases/${other.number}`);
  assert.match(ordinary.body, 'class="reply-box"');
  assert.match(ordinary.body, 'class="case-customer"');
  assert.match(ordinary.body, 'id="f-customer"');
  assert.match(ordinary.body, 'Skicka till kunden');
});

test('its system lines are written in each reader’s language: Swedish for KALLE, English for ANNA', async () => {
  const { chainId, caseNumber } = await submit('avtal-2.pdf');
  const kalle = await as('kalle');
  await kalle.get(`/cases/${caseNumber}`);
  const approved = await kalle.post(`/approvals/${chainId}/decision`, {
    decision: 'approve',
    step: '0',
    comment: 'Ser bra ut',
  });
  assert.is(approved.statusCode, 303);

  const swedish = threadTexts((await kalle.get(`/cases/${caseNumber}`)).body);
  assert.equal(swedish, [
    'Nu: steg 2 av 2: ANNA.',
    'KALLE godkände steg 1 av 2. Kommentar: Ser bra ut',
    'Erik Testsson lämnade avtal-2.pdf (version 1) för attest enligt attestflödet "Avtalsattest". Nu: steg 1 av 2: KALLE. Öppna dokumentet',
  ]);
  const anna = await as('anna');
  const page = (await anna.get(`/cases/${caseNumber}`)).body;
  assert.equal(threadTexts(page), [
    'Now: step 2 of 2: ANNA.',
    'KALLE approved step 1 of 2. Comment: Ser bra ut',
    'Erik Testsson submitted avtal-2.pdf (version 1) for approval by the structure "Avtalsattest". Now: step 1 of 2: KALLE. Open document',
  ]);
  assert.match(page, /<a href="\/documents\/\d+">Open document<\/a>/);
  assert.not.match(page, 'class="reply-box"');
});

test('a system line stored as fixed text before (no system_text) still shows as it was written', async () => {
  const { caseId, caseNumber } = await submit('avtal-3.pdf');
  await ctx.db
    .insertInto('thread_entries')
    .values({
      case_id: caseId,
      side: 'system',
      user_id: null,
      author_name: 'Casedesk',
      body_html: '<p>ERIK lämnade gammalt-avtal.pdf för attest.</p>',
    })
    .execute();
  const anna = await as('anna');
  const texts = threadTexts((await anna.get(`/cases/${caseNumber}`)).body);
  assert.is(texts[0], 'ERIK lämnade gammalt-avtal.pdf för attest.');
  assert.match(texts[1] ?? '', 'Erik Testsson submitted avtal-3.pdf (version 1) for approval');
});

test('the approvers hear that the system made them responsible, not the person who acted', async () => {
  const { chainId, caseNumber } = await submit('avtal-4.pdf');
  const kalle = await as('kalle');
  const bell = await kalle.get('/notifications');
  assert.match(bell.body, `Systemet gjorde dig ansvarig: ${caseNumber} Attest: avtal-4.pdf`);
  assert.not.match(bell.body, 'ERIK gjorde dig ansvarig');
  const toKalle = (await mailsTo(ctx.kalle)).filter((m) => m.subject.includes('avtal-4.pdf'));
  assert.is(toKalle.length, 1);
  assert.match(toKalle[0]?.subject ?? '', 'Att attestera: avtal-4.pdf');
  assert.match(
    toKalle[0]?.text.replace(/\s+/g, ' ') ?? '',
    'Casedesk har gjort dig ansvarig för attestärendet för avtal-4.pdf, som Erik Testsson lämnade för attest. Det är din tur: steg 1 av 2.',
  );
  assert.is(toKalle[0]?.createdBy, null, 'the system sent it');

  // KALLE's approval hands the case to ANNA: the system does that too, in her language
  await kalle.post(`/approvals/${chainId}/decision`, { decision: 'approve', step: '0', comment: '' });
  const anna = await as('anna');
  const annasBell = await anna.get('/notifications');
  assert.match(annasBell.body, `System made you responsible: ${caseNumber} Attest: avtal-4.pdf`);
  assert.not.match(annasBell.body, 'KALLE made you responsible');
  const toAnna = (await mailsTo(ctx.anna)).filter((m) => m.subject.includes('avtal-4.pdf'));
  assert.is(toAnna.length, 1);
  assert.match(
    toAnna[0]?.text.replace(/\s+/g, ' ') ?? '',
    'Casedesk made you responsible for the approval case of avtal-4.pdf, which Erik Testsson submitted for approval. It is your turn: step 2 of 2.',
  );
  assert.is(toAnna[0]?.createdBy, null);
});

test.run();
