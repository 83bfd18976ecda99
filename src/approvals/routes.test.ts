import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { submitForApproval } from '../test-support/approvals.ts';
import { createTestDatabase } from '../test-support/database.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  erik: User;
  sara: User;
  boss: User;
  customerId: number;
  avtal: number;
};
const test = suite('Deciding approvals over HTTP');

const submit = (fileName: string) =>
  submitForApproval(ctx.db, { fileName, customerId: ctx.customerId, folderId: ctx.avtal, by: ctx.erik });

const chainOf = (chainId: string) =>
  ctx.db.selectFrom('approval_chains').selectAll().where('id', '=', chainId).executeTakeFirstOrThrow();

async function as(login: string) {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
}

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  ctx.erik = await seedUser(ctx.db, 'ERIK');
  ctx.sara = await seedUser(ctx.db, 'SARA');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
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

test('the approver sees "My approvals" on the overview, the list, and the decision form on the case', async () => {
  const { documentId, caseNumber } = await submit('avtal-1.pdf');
  const kalle = await as('kalle');
  const overview = await kalle.get('/cases');
  assert.match(overview.body, /href="\/approvals">\s*<span class="tile-count" data-tile="my_approvals">1<\/span>/);
  assert.match(overview.body, 'Mina attester');
  const list = await kalle.get('/approvals');
  assert.is(list.statusCode, 200);
  assert.match(list.body, `<a href="/documents/${documentId}">avtal-1.pdf</a>`);
  assert.match(list.body, 'K1001 Acme AB');
  assert.match(list.body, 'Steg 1 av 2');
  assert.match(list.body, `href="/cases/${caseNumber}"`);
  // in English the column says where the document belongs, as the document page does
  const english = await kalle.get('/approvals', { headers: { 'accept-language': 'en-US,en;q=0.9' } });
  assert.match(english.body, '<h1>My approvals</h1>');
  assert.match(english.body, '<th scope="col">Belongs to</th>');
  assert.match(english.body, 'Step 1 of 2');
  const page = await kalle.get(`/cases/${caseNumber}`);
  assert.match(page.body, 'Dokument att attestera');
  assert.match(page.body, 'Väntar på attest (steg 1 av 2: KALLE)');
  assert.match(page.body, 'Din attest: Steg 1 av 2');
  assert.match(page.body, '>Godkänn</button>');
  assert.match(page.body, '>Skicka tillbaka</button>');
  assert.match(page.body, `href="/documents/${documentId}">Öppna dokumentet</a>`);

  // the document page offers the same form to the current approver
  const docPage = await kalle.get(`/documents/${documentId}`);
  assert.is(docPage.statusCode, 200);
  assert.match(docPage.body, `action="/approvals/`);
  assert.match(docPage.body, '>Godkänn</button>');

  const erik = await as('erik');
  assert.not.match((await erik.get(`/documents/${documentId}`)).body, '>Godkänn</button>');
  const erikPage = await erik.get(`/cases/${caseNumber}`);
  assert.match(erikPage.body, 'Dokument att attestera', 'everyone sees which document the case is about');
  assert.not.match(erikPage.body, '>Godkänn</button>');
  assert.not.match((await erik.get('/cases')).body, /data-tile="my_approvals">1</);
  assert.match((await erik.get('/approvals')).body, 'Inget väntar på din attest.');
});

test('only the current approver decides: others get 403 and nothing changes', async () => {
  const { chainId, caseNumber } = await submit('avtal-2.pdf');
  const anna = await as('anna');
  await anna.get(`/cases/${caseNumber}`);
  const res = await anna.post(`/approvals/${chainId}/decision`, { decision: 'approve', step: '0', comment: '' });
  assert.is(res.statusCode, 403);
  assert.match(res.body, 'Det är inte din tur att attestera det här dokumentet.');
  assert.is((await chainOf(chainId)).current_step, 0);
  const boss = await as('boss');
  const res2 = await boss.post(`/approvals/${chainId}/decision`, { decision: 'approve', step: '0', comment: '' });
  assert.is(res2.statusCode, 403, 'admins too');
  const erik = await as('erik');
  const nope = await erik.post('/approvals/999999/decision', { decision: 'approve', step: '0', comment: '' });
  assert.is(nope.statusCode, 404);
});

test('approve, then a second click on the same step: "already decided" (409), nothing changed', async () => {
  const { chainId, caseNumber } = await submit('avtal-3.pdf');
  const kalle = await as('kalle');
  await kalle.get(`/cases/${caseNumber}`);
  const noToken = await kalle.post(`/approvals/${chainId}/decision`, { _csrf: '', decision: 'approve', step: '0' });
  assert.is(noToken.statusCode, 403);
  const res = await kalle.post(`/approvals/${chainId}/decision`, { decision: 'approve', step: '0', comment: 'OK' });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, `/cases/${caseNumber}`);
  const after = await kalle.get(`/cases/${caseNumber}`);
  assert.match(after.body, 'Du godkände steg 1.');
  assert.match(after.body, 'Väntar på attest (steg 2 av 2: ANNA)');
  assert.not.match(after.body, '>Godkänn</button>');
  const again = await kalle.post(`/approvals/${chainId}/decision`, { decision: 'approve', step: '0', comment: 'OK' });
  assert.is(again.statusCode, 409);
  assert.match(again.body, 'Redan beslutat');
  const decisions = await ctx.db
    .selectFrom('approval_decisions')
    .select('id')
    .where('chain_id', '=', chainId)
    .execute();
  assert.is(decisions.length, 1);
  const bad = await kalle.post(`/approvals/${chainId}/decision`, { decision: 'maybe', step: '1' });
  assert.is(bad.statusCode, 400);
});

test('send back needs a comment: 422 with the form again; then the uploader withdraws', async () => {
  const { chainId, caseNumber, documentId } = await submit('avtal-4.pdf');
  const kalle = await as('kalle');
  await kalle.get(`/cases/${caseNumber}`);
  const empty = await kalle.post(`/approvals/${chainId}/decision`, { decision: 'send_back', step: '0', comment: ' ' });
  assert.is(empty.statusCode, 422);
  assert.match(empty.body, 'Skriv varför du skickar tillbaka dokumentet.');
  assert.match(empty.body, '>Skicka tillbaka</button>');
  const back = await kalle.post(`/approvals/${chainId}/decision`, {
    decision: 'send_back',
    step: '0',
    comment: 'Fel <b>belopp</b>',
  });
  assert.is(back.statusCode, 303);
  assert.is((await chainOf(chainId)).state, 'sent_back');
  const thread = await kalle.get(`/cases/${caseNumber}`);
  assert.match(thread.body, 'Kommentar: Fel &lt;b&gt;belopp&lt;/b&gt;');

  const anna = await as('anna');
  const notHers = await anna.post(`/approvals/${chainId}/withdraw`);
  assert.is(notHers.statusCode, 403);
  const erik = await as('erik');
  const bell = await erik.get('/notifications');
  assert.match(bell.body, 'KALLE skickade tillbaka ditt dokument: avtal-4.pdf: Fel &lt;b&gt;belopp&lt;/b&gt;');
  const gone = await erik.post(`/approvals/${chainId}/withdraw`);
  assert.is(gone.statusCode, 303);
  assert.is(gone.headers.location, `/customers/${ctx.customerId}`);
  const doc = await ctx.db.selectFrom('documents').selectAll().where('id', '=', documentId).executeTakeFirstOrThrow();
  assert.is(doc.approval_state, 'withdrawn');
  assert.ok(doc.deleted_at);
  const twice = await erik.post(`/approvals/${chainId}/withdraw`);
  assert.is(twice.statusCode, 409);
});

test('a locked document: the direct download URL answers 403 to all but the current approver', async () => {
  const { documentId, chainId } = await submit('avtal-5.pdf');
  const url = `/documents/${documentId}/download`;
  for (const login of ['erik', 'boss', 'sara', 'anna']) {
    const res = await (await as(login)).get(url);
    assert.is(res.statusCode, 403, `${login} is refused`);
  }
  const kalle = await as('kalle');
  const ok = await kalle.get(url);
  assert.is(ok.statusCode, 200);
  assert.match(ok.body, '%PDF avtal-5.pdf');
  await kalle.get('/approvals');
  await kalle.post(`/approvals/${chainId}/decision`, { decision: 'approve', step: '0', comment: '' });
  assert.is((await kalle.get(url)).statusCode, 403, 'step 2 is ANNA’s');
  const anna = await as('anna');
  assert.is((await anna.get(url)).statusCode, 200);
  await anna.post(`/approvals/${chainId}/decision`, { decision: 'approve', step: '1', comment: '' });
  for (const login of ['erik', 'boss', 'sara', 'anna', 'kalle']) {
    const res = await (await as(login)).get(url);
    assert.is(res.statusCode, 200, `${login} downloads the published document`);
  }
});

test.run();
