import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  structureId: number;
  oldStructureId: number;
  emailIn: number;
  customerId: number;
};
const test = suite('Document categories in administration');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  const kalle = await seedUser(ctx.db, 'KALLE', 'agent');
  await seedUser(ctx.db, 'BOSS', 'admin');
  const structure = await ctx.db
    .insertInto('approval_structures')
    .values({ name: 'Avtalsattest' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('approval_structure_steps')
    .values({ structure_id: structure.id, position: 1, approver_ids: [kalle.id] })
    .execute();
  ctx.structureId = structure.id;
  const old = await ctx.db
    .insertInto('approval_structures')
    .values({ name: 'Gammal attest', active: false })
    .returning('id')
    .executeTakeFirstOrThrow();
  ctx.oldStructureId = old.id;
  const emailIn = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('system_key', '=', 'email_in')
    .executeTakeFirstOrThrow();
  ctx.emailIn = emailIn.id;
  ctx.customerId = (await createCustomer(ctx.db, { number: '3001', name: 'Kund AB', email_domains: [] })).id;
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

async function loggedIn(login: string): Promise<TestClient> {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
}

const folderNamed = (name: string) =>
  ctx.db.selectFrom('document_folders').selectAll().where('name', '=', name).executeTakeFirst();

test('administration lists the categories, mail folders marked as system ones; agents are kept out', async () => {
  const boss = await loggedIn('boss');
  assert.match((await boss.get('/admin')).body, 'href="/admin/document-categories">Dokumentkategorier</a>');
  const list = await boss.get('/admin/document-categories');
  assert.is(list.statusCode, 200);
  assert.match(list.body, '>Allmänt</a>');
  assert.match(list.body, '>E-mail IN</a> <span class="hint">(Systemkategori)</span>');
  const kalle = await loggedIn('kalle');
  assert.is((await kalle.get('/admin/document-categories')).statusCode, 403);
  assert.is((await kalle.post('/admin/document-categories', { name: 'Smyg' })).statusCode, 403);
  assert.is(await folderNamed('Smyg'), undefined);
});

test('a new category "Avtal" with an approval structure; only active structures are offered', async () => {
  const boss = await loggedIn('boss');
  const form = await boss.get('/admin/document-categories/new');
  assert.match(form.body, '>Avtalsattest</option>');
  assert.not.match(form.body, 'Gammal attest');
  const res = await boss.post('/admin/document-categories', {
    name: 'Avtal',
    position: '2',
    active: 'on',
    approval_structure_id: String(ctx.structureId),
  });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/admin/document-categories');
  const avtal = await folderNamed('Avtal');
  assert.equal(
    [avtal?.position, avtal?.active, avtal?.approval_structure_id, avtal?.system_key],
    [2, true, ctx.structureId, null],
  );
  const list = await boss.get('/admin/document-categories');
  assert.match(list.body, 'Sparat.');
  assert.match(list.body, '<td>Avtalsattest</td>');
});

test('bad input is shown beside its field with everything typed kept', async () => {
  const boss = await loggedIn('boss');
  await boss.get('/admin/document-categories/new');
  const empty = await boss.post('/admin/document-categories', { name: ' ', position: 'tre', active: 'on' });
  assert.is(empty.statusCode, 422);
  assert.match(empty.body, 'id="f-name-error"');
  assert.match(empty.body, 'id="f-position-error"');
  assert.match(empty.body, 'value="tre"');
  const taken = await boss.post('/admin/document-categories', { name: 'Avtal', position: '4', active: 'on' });
  assert.is(taken.statusCode, 422);
  assert.match(taken.body, 'Namnet används redan.');
  assert.match(taken.body, 'value="4"');
  const inactive = await boss.post('/admin/document-categories', {
    name: 'Offerter',
    active: 'on',
    approval_structure_id: String(ctx.oldStructureId),
  });
  assert.is(inactive.statusCode, 422, 'an inactive structure cannot be picked for a new link');
  assert.match(inactive.body, 'id="f-approval_structure_id-error"');
  assert.match(inactive.body, 'value="Offerter"');
  const unknown = await boss.post('/admin/document-categories', { name: 'Offerter', approval_structure_id: '999999' });
  assert.is(unknown.statusCode, 422);
  assert.is(await folderNamed('Offerter'), undefined);
});

test('a system folder can be renamed, but not deactivated nor given a structure', async () => {
  const boss = await loggedIn('boss');
  const form = await boss.get(`/admin/document-categories/${ctx.emailIn}`);
  assert.match(form.body, 'Fylls av systemet med e-post.');
  assert.not.match(form.body, 'name="approval_structure_id"', 'no structure to pick');
  assert.match(form.body, '<input type="hidden" name="active" value="on">');
  const renamed = await boss.post(`/admin/document-categories/${ctx.emailIn}`, {
    name: 'Inkommande e-post',
    position: '90',
    active: 'on',
  });
  assert.is(renamed.statusCode, 303);
  const row = await ctx.db
    .selectFrom('document_folders')
    .selectAll()
    .where('id', '=', ctx.emailIn)
    .executeTakeFirstOrThrow();
  assert.equal([row.name, row.system_key, row.active], ['Inkommande e-post', 'email_in', true]);

  const deactivate = await boss.post(`/admin/document-categories/${ctx.emailIn}`, { name: 'Inkommande e-post' });
  assert.is(deactivate.statusCode, 422);
  assert.match(deactivate.body, 'En systemkategori kan inte inaktiveras.');
  const structure = await boss.post(`/admin/document-categories/${ctx.emailIn}`, {
    name: 'Inkommande e-post',
    active: 'on',
    approval_structure_id: String(ctx.structureId),
  });
  assert.is(structure.statusCode, 422);
  assert.match(structure.body, 'En systemkategori kan inte ha ett attestflöde.');
  const after = await ctx.db
    .selectFrom('document_folders')
    .selectAll()
    .where('id', '=', ctx.emailIn)
    .executeTakeFirstOrThrow();
  assert.equal([after.active, after.approval_structure_id], [true, null]);
});

test('an inactive category is no longer offered for uploads; an existing link to an inactive structure may stay', async () => {
  const boss = await loggedIn('boss');
  await ctx.db
    .updateTable('document_folders')
    .set({ approval_structure_id: ctx.oldStructureId })
    .where('name', '=', 'Allmänt')
    .execute();
  const allmant = await folderNamed('Allmänt');
  const form = await boss.get(`/admin/document-categories/${allmant?.id}`);
  assert.match(form.body, 'Gammal attest (Inaktiv)');
  const res = await boss.post(`/admin/document-categories/${allmant?.id}`, {
    name: 'Allmänt',
    position: '1',
    approval_structure_id: String(ctx.oldStructureId),
  });
  assert.is(res.statusCode, 303);
  assert.is((await folderNamed('Allmänt'))?.active, false);
  const page = await boss.get(`/customers/${ctx.customerId}`);
  const select = page.body.slice(page.body.indexOf('id="document-folder"'), page.body.indexOf('</select>'));
  assert.match(select, '>Avtal</option>');
  assert.not.match(select, 'Allmänt');
  assert.not.match(select, 'e-post', 'mail folders are never offered');
  assert.is((await boss.get('/admin/document-categories/999999')).statusCode, 404);
});

test.run();
