import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { postMultipart } from '../test-support/multipart.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  erik: User;
  kalle: User;
  anna: User;
  sara: User;
  boss: User;
  avtal: number;
  customerId: number;
  clients: Record<string, TestClient>;
};
const test = suite('A document locked in its approval chain, as every user sees it');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.erik = await seedUser(ctx.db, 'ERIK', 'agent');
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent');
  ctx.sara = await seedUser(ctx.db, 'SARA', 'agent');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
  const structure = await ctx.db
    .insertInto('approval_structures')
    .values({ name: 'Avtalsattest' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('approval_structure_steps')
    .values([
      { structure_id: structure.id, position: 1, approver_ids: [ctx.kalle.id] },
      { structure_id: structure.id, position: 2, approver_ids: [ctx.anna.id] },
    ])
    .execute();
  const folder = await ctx.db
    .insertInto('document_folders')
    .values({ name: 'Avtal', position: 2, approval_structure_id: structure.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  ctx.avtal = folder.id;
  ctx.customerId = (await createCustomer(ctx.db, { number: '2001', name: 'Bygg AB', email_domains: [] })).id;
  ctx.clients = {};
  for (const login of ['erik', 'kalle', 'anna', 'sara', 'boss']) {
    const client = new TestClient(ctx.app);
    await client.login(login);
    ctx.clients[login] = client;
  }
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const as = (login: string) => ctx.clients[login] as TestClient;

async function documentNamed(fileName: string) {
  return ctx.db.selectFrom('documents').selectAll().where('file_name', '=', fileName).executeTakeFirstOrThrow();
}

async function latestChain(documentId: string) {
  return ctx.db
    .selectFrom('approval_chains')
    .selectAll()
    .where('document_id', '=', documentId)
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
}

// Each user's status for each direct URL of the document's content.
async function downloadStatuses(urls: string[]) {
  const result: Record<string, number[]> = {};
  for (const login of ['erik', 'kalle', 'anna', 'sara', 'boss']) {
    result[login] = [];
    for (const url of urls) result[login].push((await as(login).get(url)).statusCode);
  }
  return result;
}

async function decideAs(login: string, chainId: string, decision: 'approve' | 'send_back', step: number, comment = '') {
  await as(login).get(`/documents/${(await latestChainById(chainId)).document_id}`);
  return as(login).post(`/approvals/${chainId}/decision`, { decision, step: String(step), comment });
}

async function latestChainById(id: string) {
  return ctx.db.selectFrom('approval_chains').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

test('a contract uploaded to a customer in Avtal is locked at once: 403 by direct URL to all but KALLE', async () => {
  await as('erik').get(`/customers/${ctx.customerId}`);
  const res = await postMultipart(as('erik'), '/documents', [
    { name: 'owner_kind', value: 'customer' },
    { name: 'owner_id', value: String(ctx.customerId) },
    { name: 'folder_id', value: String(ctx.avtal) },
    { name: 'files', fileName: 'avtal.pdf', contentType: 'application/pdf', data: '%PDF avtal v1' },
  ]);
  assert.is(res.statusCode, 303);
  const doc = await documentNamed('avtal.pdf');
  assert.is(doc.approval_state, 'pending');
  const chain = await latestChain(doc.id);
  assert.equal(chain.current_approver_ids, [ctx.kalle.id]);

  const panel = await as('erik').get(`/customers/${ctx.customerId}`);
  assert.match(panel.body, 'Väntar på attest: 1.');
  assert.match(panel.body, 'Väntar på attest (steg 1 av 2: KALLE)');
  assert.match(panel.body, `href="/documents/${doc.id}">avtal.pdf</a>`, 'the name still leads to its page');
  assert.not.match(panel.body, `/documents/${doc.id}/download`, 'no download link for the uploader');
  assert.not.match(panel.body, `/documents/${doc.id}/deletion`, 'nor a delete button');
  assert.not.match((await as('boss').get(`/customers/${ctx.customerId}`)).body, `/documents/${doc.id}/download`);
  assert.match((await as('kalle').get(`/customers/${ctx.customerId}`)).body, `/documents/${doc.id}/download`);

  const urls = [`/documents/${doc.id}/download`, `/documents/${doc.id}/versions/1`];
  assert.equal(await downloadStatuses(urls), {
    erik: [403, 403],
    kalle: [200, 200],
    anna: [403, 403],
    sara: [403, 403],
    boss: [403, 403],
  });
  assert.is((await as('kalle').get(urls[0] as string)).body, '%PDF avtal v1');

  const page = await as('erik').get(`/documents/${doc.id}`);
  assert.match(page.body, 'Väntar på attest (steg 1 av 2: KALLE)');
  assert.match(page.body, 'Kalle Testsson (KALLE)');
  assert.match(page.body, 'Bara den som ska attestera nu kan öppna det.');
  assert.not.match(page.body, 'Ladda upp ny version');
  assert.not.match(page.body, `/approvals/${chain.id}/decision`, 'the decision form is the approver’s alone');
  const kallePage = await as('kalle').get(`/documents/${doc.id}`);
  assert.match(kallePage.body, `action="/approvals/${chain.id}/decision"`);
  assert.match(kallePage.body, `href="/documents/${doc.id}/download"`);
});

test('a locked document cannot be deleted or replaced, not even by the uploader or an admin', async () => {
  const doc = await documentNamed('avtal.pdf');
  await as('erik').get(`/documents/${doc.id}`);
  assert.is((await as('erik').post(`/documents/${doc.id}/deletion`)).statusCode, 403);
  await as('boss').get(`/documents/${doc.id}`);
  assert.is((await as('boss').post(`/documents/${doc.id}/deletion`)).statusCode, 403);
  const replace = await postMultipart(as('erik'), `/documents/${doc.id}/versions`, [
    { name: 'file', fileName: 'avtal.pdf', data: 'sneaky' },
  ]);
  assert.is(replace.statusCode, 403);
  const after = await documentNamed('avtal.pdf');
  assert.equal([after.version, after.deleted_at, after.file_id], [1, null, doc.file_id]);
});

test('a case document uploaded in Avtal on the case is locked too: 403 on the case download URL, admins included', async () => {
  const status = await ctx.db.selectFrom('case_statuses').select('id').orderBy('position').executeTakeFirstOrThrow();
  const type = await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  const kase = await ctx.db
    .insertInto('cases')
    .values({ number: 'L-1', title: 'Nytt avtal', status_id: status.id, case_type_id: type.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  await as('erik').get('/cases/L-1/documents');
  const upload = await postMultipart(as('erik'), '/cases/L-1/documents', [
    { name: 'folder_id', value: String(ctx.avtal) },
    { name: 'files', fileName: 'tillagg.pdf', contentType: 'application/pdf', data: '%PDF tillägg' },
  ]);
  assert.is(upload.statusCode, 303);
  const added = await documentNamed('tillagg.pdf');
  assert.is(added.approval_state, 'pending');
  const urls = [`/cases/L-1/documents/${added.id}`, `/documents/${added.id}/download`];
  assert.equal(await downloadStatuses(urls), {
    erik: [403, 403],
    kalle: [200, 200],
    anna: [403, 403],
    sara: [403, 403],
    boss: [403, 403],
  });
  const tab = await as('erik').get('/cases/L-1/documents');
  assert.match(tab.body, 'Väntar på attest (steg 1 av 2: KALLE)');
  assert.not.match(tab.body, `/cases/L-1/documents/${added.id}"`);
  assert.is((await as('erik').post(`/cases/L-1/documents/${added.id}/deletion`)).statusCode, 403);
  const send = await ctx.db
    .selectFrom('documents')
    .select('id')
    .where('case_id', '=', kase.id)
    .where('approval_state', 'in', ['none', 'approved'])
    .execute();
  assert.equal(send, [], 'nothing on the case may leave it as an attachment yet');
  // and the reply box does not offer it as an attachment
  const thread = await as('kalle').get('/cases/L-1/thread');
  assert.is(thread.statusCode, 200);
  assert.not.match(thread.body, `name="document_ids" value="${added.id}"`);
});

test('KALLE approves, ANNA sends back: locked for all, the uploader sees the comment and alone may act', async () => {
  const doc = await documentNamed('avtal.pdf');
  const first = await latestChain(doc.id);
  const approved = await decideAs('kalle', first.id, 'approve', 0);
  assert.is(approved.statusCode, 303);
  const urls = [`/documents/${doc.id}/download`];
  assert.equal(await downloadStatuses(urls), { erik: [403], kalle: [403], anna: [200], sara: [403], boss: [403] });
  assert.match((await as('sara').get(`/documents/${doc.id}`)).body, 'Väntar på attest (steg 2 av 2: ANNA)');

  const sentBack = await decideAs('anna', first.id, 'send_back', 1, 'Fel org.nr på sidan 2.');
  assert.is(sentBack.statusCode, 303);
  assert.is((await documentNamed('avtal.pdf')).approval_state, 'sent_back');
  assert.equal(await downloadStatuses(urls), { erik: [403], kalle: [403], anna: [403], sara: [403], boss: [403] });

  const page = await as('erik').get(`/documents/${doc.id}`);
  assert.match(page.body, 'Skickad tillbaka av Anna Testsson');
  assert.match(page.body, 'Fel org.nr på sidan 2.');
  assert.match(page.body, 'Ladda upp ny version');
  assert.match(page.body, `action="/approvals/${first.id}/withdraw"`);
  // withdrawing removes the document for everyone: the browser asks first (public/app.js)
  assert.match(
    page.body,
    'data-confirm="Dra tillbaka avtal.pdf? Dokumentet försvinner för alla och attesten avslutas."',
  );
  const other = await as('sara').get(`/documents/${doc.id}`);
  assert.match(other.body, 'Skickad tillbaka');
  assert.not.match(other.body, 'Ladda upp ny version');
  assert.not.match(other.body, '/withdraw"');
  assert.match((await as('sara').get(`/customers/${ctx.customerId}`)).body, 'Skickad tillbaka');
  const refused = await postMultipart(as('anna'), `/documents/${doc.id}/versions`, [
    { name: 'file', fileName: 'avtal.pdf', data: 'not hers' },
  ]);
  assert.is(refused.statusCode, 403);
});

test('the uploader’s new version starts again at KALLE; two approvals publish it to everyone with the whole history', async () => {
  const doc = await documentNamed('avtal.pdf');
  await as('erik').get(`/documents/${doc.id}`);
  const res = await postMultipart(as('erik'), `/documents/${doc.id}/versions`, [
    { name: 'file', fileName: 'avtal-v2.pdf', contentType: 'application/pdf', data: '%PDF avtal v2' },
  ]);
  assert.is(res.statusCode, 303);
  const v2 = await documentNamed('avtal-v2.pdf');
  assert.equal([v2.version, v2.approval_state], [2, 'pending']);
  const second = await latestChain(doc.id);
  assert.equal([second.document_version, second.current_step, second.current_approver_ids], [2, 0, [ctx.kalle.id]]);
  assert.match(
    (await as('erik').get(`/documents/${doc.id}`)).body,
    'Version 2 har laddats upp och skickats för attest.',
  );

  assert.is((await decideAs('kalle', second.id, 'approve', 0)).statusCode, 303);
  const twice = await decideAs('kalle', second.id, 'approve', 0);
  assert.is(twice.statusCode, 409, 'a second click is already decided');
  assert.is((await decideAs('anna', second.id, 'approve', 1, 'Ser bra ut.')).statusCode, 303);
  assert.is((await documentNamed('avtal-v2.pdf')).approval_state, 'approved');

  const urls = [`/documents/${doc.id}/download`, `/documents/${doc.id}/versions/1`, `/documents/${doc.id}/versions/2`];
  assert.equal(await downloadStatuses(urls), {
    erik: [200, 200, 200],
    kalle: [200, 200, 200],
    anna: [200, 200, 200],
    sara: [200, 200, 200],
    boss: [200, 200, 200],
  });
  assert.is((await as('sara').get(urls[0] as string)).body, '%PDF avtal v2');

  const page = await as('sara').get(`/documents/${doc.id}`);
  assert.match(page.body, 'Godkänd');
  const history = page.body.slice(page.body.indexOf('class="approval-history"'));
  const rows = [
    ...history.matchAll(
      /<tr>\s*<td>(\d+)<\/td>\s*<td>(\d+|–)<\/td>\s*<td>([^<]+)<\/td>[\s\S]*?<td>([^<]+)<\/td>\s*<td>([^<]*)<\/td>\s*<\/tr>/g,
    ),
  ].map((m) => [m[1], m[2], m[3], m[4], m[5]]);
  assert.equal(rows, [
    ['1', '1', 'Kalle Testsson', 'Godkänd', ''],
    ['1', '2', 'Anna Testsson', 'Skickad tillbaka', 'Fel org.nr på sidan 2.'],
    ['2', '–', 'Erik Testsson', 'Ny version inskickad', ''],
    ['2', '1', 'Kalle Testsson', 'Godkänd', ''],
    ['2', '2', 'Anna Testsson', 'Godkänd', 'Ser bra ut.'],
  ]);
  const panel = await as('sara').get(`/customers/${ctx.customerId}`);
  assert.match(panel.body, '>Godkänd</span>');
  assert.match(panel.body, `/documents/${doc.id}/download`);
});

test('a sent-back document the uploader withdraws is gone from the panel and its URLs', async () => {
  await as('erik').get(`/customers/${ctx.customerId}`);
  const upload = await postMultipart(as('erik'), '/documents', [
    { name: 'owner_kind', value: 'customer' },
    { name: 'owner_id', value: String(ctx.customerId) },
    { name: 'folder_id', value: String(ctx.avtal) },
    { name: 'files', fileName: 'utkast.pdf', contentType: 'application/pdf', data: '%PDF utkast' },
  ]);
  assert.is(upload.statusCode, 303);
  const added = await documentNamed('utkast.pdf');
  const chain = await latestChain(added.id);
  assert.is((await decideAs('kalle', chain.id, 'send_back', 0, 'Behövs inte.')).statusCode, 303);
  await as('erik').get(`/documents/${added.id}`);
  const res = await as('erik').post(`/approvals/${chain.id}/withdraw`);
  assert.is(res.statusCode, 303);
  assert.is((await documentNamed('utkast.pdf')).approval_state, 'withdrawn');
  // (the document case named after it stays among the customer's cases)
  assert.not.match((await as('erik').get(`/customers/${ctx.customerId}`)).body, `href="/documents/${added.id}"`);
  assert.is((await as('erik').get(`/documents/${added.id}`)).statusCode, 404);
  assert.is((await as('erik').get(`/documents/${added.id}/download`)).statusCode, 404);
});

test('the document case speaks the language of whoever acted', async () => {
  await seedUser(ctx.db, 'JANE', 'agent', { language: 'en' });
  const jane = new TestClient(ctx.app);
  await jane.login('jane');
  await jane.get(`/customers/${ctx.customerId}`);
  const res = await postMultipart(jane, '/documents', [
    { name: 'owner_kind', value: 'customer' },
    { name: 'owner_id', value: String(ctx.customerId) },
    { name: 'folder_id', value: String(ctx.avtal) },
    { name: 'files', fileName: 'contract-en.pdf', contentType: 'application/pdf', data: '%PDF en' },
  ]);
  assert.is(res.statusCode, 303);
  const doc = await documentNamed('contract-en.pdf');
  const chain = await latestChain(doc.id);
  const kase = await ctx.db
    .selectFrom('cases')
    .select(['number', 'title'])
    .where('id', '=', chain.case_id as number)
    .executeTakeFirstOrThrow();
  assert.is(kase.title, 'Approval: contract-en.pdf');
  assert.is((await decideAs('kalle', chain.id, 'approve', 0)).statusCode, 303);
  const texts = (
    await ctx.db
      .selectFrom('thread_entries')
      .select('body_html')
      .where('case_id', '=', chain.case_id as number)
      .orderBy('id')
      .execute()
  ).map((e) => e.body_html);
  assert.match(texts[0] ?? '', 'submitted', 'JANE submitted it, in English');
  assert.ok(
    texts.some((t) => t.includes('godkände steg 1 av 2')),
    `KALLE decided, in Swedish: ${texts.join(' | ')}`,
  );
});

test.run();
