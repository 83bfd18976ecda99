import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { postMultipart } from '../test-support/multipart.ts';
import { findOwnerPlace, ownerOf, parseOwner } from './owners.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  boss: User;
  general: number;
  customerId: number;
  projectId: number;
  workOrderId: number;
  caseId: number;
};
const test = suite('Documents on customers, projects and work orders');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent');
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
  const general = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('name', '=', 'Allmänt')
    .executeTakeFirstOrThrow();
  ctx.general = general.id;
  const customer = await createCustomer(ctx.db, { number: '1001', name: 'Acme AB', email_domains: ['acme.se'] });
  ctx.customerId = customer.id;
  await ctx.db
    .insertInto('contacts')
    .values({ customer_id: customer.id, name: 'Greta Kund', email: 'greta@acme.se', phone: '08-123' })
    .execute();
  const project = await ctx.db
    .insertInto('projects')
    .values({ number: 'P0001', name: 'Nytt lager', customer_id: customer.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  ctx.projectId = project.id;
  const workOrder = await ctx.db
    .insertInto('work_orders')
    .values({ number: 'AO00001', name: 'Montera hyllor', project_id: project.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  ctx.workOrderId = workOrder.id;
  const status = await ctx.db.selectFrom('case_statuses').select('id').orderBy('position').executeTakeFirstOrThrow();
  const type = await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  const kase = await ctx.db
    .insertInto('cases')
    .values({
      number: 'K-7',
      title: 'Leverans saknas',
      status_id: status.id,
      case_type_id: type.id,
      customer_id: customer.id,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  ctx.caseId = kase.id;
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

async function documentNamed(fileName: string) {
  return ctx.db
    .selectFrom('documents')
    .selectAll()
    .where('file_name', '=', fileName)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
}

test('owners: the column, the place and the link for each kind', async () => {
  assert.equal(parseOwner('customer', '12'), { kind: 'customer', id: 12 });
  assert.is(parseOwner('cases', '1'), null);
  assert.is(parseOwner('customer', '0'), null);
  assert.is(parseOwner('customer', '1; drop'), null);
  assert.equal(ownerOf({ case_id: null, customer_id: null, project_id: 4, work_order_id: null }), {
    kind: 'project',
    id: 4,
  });
  assert.is(ownerOf({ case_id: null, customer_id: null, project_id: null, work_order_id: null }), null);
  const places = await Promise.all([
    findOwnerPlace(ctx.db, { kind: 'case', id: ctx.caseId }),
    findOwnerPlace(ctx.db, { kind: 'customer', id: ctx.customerId }),
    findOwnerPlace(ctx.db, { kind: 'project', id: ctx.projectId }),
    findOwnerPlace(ctx.db, { kind: 'work_order', id: ctx.workOrderId }),
  ]);
  assert.equal(
    places.map((p) => [p?.label, p?.href]),
    [
      ['K-7 Leverans saknas', '/cases/K-7'],
      ['1001 Acme AB', `/customers/${ctx.customerId}`],
      ['P0001 Nytt lager', '/projects/P0001'],
      ['AO00001 Montera hyllor', '/work-orders/AO00001'],
    ],
  );
  assert.is(await findOwnerPlace(ctx.db, { kind: 'project', id: 999_999 }), undefined);
});

test('an agent uploads two files to a customer from its page; both are listed there with version 1 written', async () => {
  const kalle = await loggedIn('kalle');
  const page = await kalle.get(`/customers/${ctx.customerId}`);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'name="owner_kind" value="customer"');
  const res = await postMultipart(kalle, '/documents', [
    { name: 'owner_kind', value: 'customer' },
    { name: 'owner_id', value: String(ctx.customerId) },
    { name: 'folder_id', value: String(ctx.general) },
    { name: 'files', fileName: 'ramavtal.pdf', contentType: 'application/pdf', data: '%PDF ramavtal' },
    { name: 'files', fileName: 'prislista.txt', contentType: 'text/plain', data: 'Hylla: 100 kr\n' },
  ]);
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, `/customers/${ctx.customerId}`);
  const doc = await documentNamed('ramavtal.pdf');
  assert.is(doc.customer_id, ctx.customerId);
  assert.is(doc.case_id, null);
  assert.is(doc.version, 1);
  assert.is(doc.approval_state, 'none');
  const versions = await ctx.db
    .selectFrom('document_versions')
    .select(['version', 'file_id', 'file_name', 'created_by'])
    .where('document_id', '=', doc.id)
    .execute();
  assert.equal(versions, [{ version: 1, file_id: doc.file_id, file_name: 'ramavtal.pdf', created_by: ctx.kalle.id }]);

  const after = await kalle.get(`/customers/${ctx.customerId}`);
  assert.match(after.body, 'Tillagda filer: 2.');
  assert.match(after.body, `href="/documents/${doc.id}">ramavtal.pdf</a>`);
  assert.match(after.body, `href="/documents/${doc.id}/download"`);
  assert.match(after.body, 'Mapp: Allmänt');
  assert.not.match(after.body, 'Mapp: E-mail IN', 'mail folders belong to cases');
  const download = await kalle.get(`/documents/${doc.id}/download`);
  assert.is(download.statusCode, 200);
  assert.is(download.body, '%PDF ramavtal');
  assert.is(download.headers['x-content-type-options'], 'nosniff');
});

test('htmx uploads to a project and a work order get the panel back; the rows lie on them', async () => {
  const anna = await loggedIn('anna');
  for (const [kind, id, name] of [
    ['project', ctx.projectId, 'ritning.txt'],
    ['work_order', ctx.workOrderId, 'checklista.txt'],
  ] as const) {
    const res = await postMultipart(
      anna,
      '/documents',
      [
        { name: 'owner_kind', value: kind },
        { name: 'owner_id', value: String(id) },
        { name: 'folder_id', value: String(ctx.general) },
        { name: 'files', fileName: name, contentType: 'text/plain', data: `${name}\n` },
      ],
      { csrf: 'header', htmx: true },
    );
    assert.is(res.statusCode, 200);
    assert.not.match(res.body, '<html');
    assert.match(res.body, 'id="documents-panel"');
    assert.match(res.body, 'Tillagda filer: 1.');
    assert.match(res.body, `>${name}</a>`);
    const doc = await documentNamed(name);
    assert.is(kind === 'project' ? doc.project_id : doc.work_order_id, id);
  }
});

test('an upload to an owner that does not exist, or with no owner, is refused and keeps nothing', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/customers');
  const before = await ctx.db
    .selectFrom('documents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  const missing = await postMultipart(kalle, '/documents', [
    { name: 'owner_kind', value: 'project' },
    { name: 'owner_id', value: '999999' },
    { name: 'files', fileName: 'x.txt', data: 'x' },
  ]);
  assert.is(missing.statusCode, 404);
  const none = await postMultipart(kalle, '/documents', [{ name: 'files', fileName: 'x.txt', data: 'x' }]);
  assert.is(none.statusCode, 404);
  const empty = await postMultipart(kalle, '/documents', [
    { name: 'owner_kind', value: 'customer' },
    { name: 'owner_id', value: String(ctx.customerId) },
    { name: 'files', fileName: '', data: '' },
  ]);
  assert.is(empty.statusCode, 422);
  assert.match(empty.body, 'Välj minst en fil.');
  assert.match(empty.body, 'name="files"', 'the form is there to try again');
  const after = await ctx.db
    .selectFrom('documents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  assert.is(after.n, before.n);
});

test('a new version bumps the version, keeps the old one downloadable and lists both on the document page', async () => {
  const anna = await loggedIn('anna');
  const doc = await documentNamed('prislista.txt');
  const page = await anna.get(`/documents/${doc.id}`);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Ladda upp ny version', 'open documents take a new version from anyone');
  assert.match(page.body, `href="/customers/${ctx.customerId}">1001 Acme AB</a>`);
  const res = await postMultipart(anna, `/documents/${doc.id}/versions`, [
    { name: 'file', fileName: 'prislista-2027.txt', contentType: 'text/plain', data: 'Hylla: 120 kr\n' },
  ]);
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, `/documents/${doc.id}`);
  const updated = await documentNamed('prislista-2027.txt');
  assert.is(updated.id, doc.id);
  assert.is(updated.version, 2);
  assert.is.not(updated.file_id, doc.file_id);
  const after = await anna.get(`/documents/${doc.id}`);
  assert.match(after.body, 'Version 2 har laddats upp.');
  assert.match(after.body, `href="/documents/${doc.id}/versions/1"`);
  assert.match(after.body, `href="/documents/${doc.id}/versions/2"`);
  assert.is((await anna.get(`/documents/${doc.id}/versions/1`)).body, 'Hylla: 100 kr\n');
  assert.is((await anna.get(`/documents/${doc.id}/versions/2`)).body, 'Hylla: 120 kr\n');
  assert.is((await anna.get(`/documents/${doc.id}/download`)).body, 'Hylla: 120 kr\n');
  assert.is((await anna.get(`/documents/${doc.id}/versions/3`)).statusCode, 404);

  const noFile = await postMultipart(anna, `/documents/${doc.id}/versions`, [{ name: 'file', fileName: '', data: '' }]);
  assert.is(noFile.statusCode, 422);
  assert.match(noFile.body, 'Välj en fil.');
  assert.match(noFile.body, 'aria-invalid="true"');
});

test('a new version of a case document is noted in the case history', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/cases/K-7/documents');
  const upload = await postMultipart(kalle, '/cases/K-7/documents', [
    { name: 'folder_id', value: String(ctx.general) },
    { name: 'files', fileName: 'foljesedel.txt', contentType: 'text/plain', data: 'v1' },
  ]);
  assert.is(upload.statusCode, 303);
  const added = await documentNamed('foljesedel.txt');
  await kalle.get(`/documents/${added.id}`);
  const res = await postMultipart(kalle, `/documents/${added.id}/versions`, [
    { name: 'file', fileName: 'foljesedel.txt', data: 'v2' },
  ]);
  assert.is(res.statusCode, 303);
  const history = await kalle.get('/cases/K-7/history');
  assert.match(history.body, 'Ny version av dokument');
  assert.match(history.body, 'foljesedel.txt (2)');
});

test('only the uploader or an admin deletes a customer document; it is then gone from the panel and the URLs', async () => {
  const doc = await documentNamed('ramavtal.pdf');
  const anna = await loggedIn('anna');
  const page = await anna.get(`/customers/${ctx.customerId}`);
  assert.not.match(page.body, `/documents/${doc.id}/deletion`);
  assert.is((await anna.post(`/documents/${doc.id}/deletion`)).statusCode, 403);
  const kalle = await loggedIn('kalle');
  assert.match((await kalle.get(`/customers/${ctx.customerId}`)).body, `/documents/${doc.id}/deletion`);
  const res = await kalle.post(`/documents/${doc.id}/deletion`);
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, `/customers/${ctx.customerId}`);
  const after = await kalle.get(`/customers/${ctx.customerId}`);
  assert.match(after.body, 'ramavtal.pdf har tagits bort.');
  assert.not.match(after.body, '>ramavtal.pdf</a>');
  assert.is((await kalle.get(`/documents/${doc.id}`)).statusCode, 404);
  assert.is((await kalle.get(`/documents/${doc.id}/download`)).statusCode, 404);
  assert.is((await kalle.get('/documents/abc')).statusCode, 404);
});

test('the customer page shows number, domains, contacts and recent cases; the list searches; the case links to it', async () => {
  const anna = await loggedIn('anna');
  const list = await anna.get('/customers?q=acme');
  assert.is(list.statusCode, 200);
  assert.match(list.body, `href="/customers/${ctx.customerId}">Acme AB</a>`);
  assert.match(list.body, 'href="/customers" aria-current="page"', 'Kunder in the main menu');
  const none = await anna.get('/customers?q=zzz', { htmx: true });
  assert.not.match(none.body, '<html');
  assert.match(none.body, 'Inga kunder matchar sökningen.');
  const page = await anna.get(`/customers/${ctx.customerId}`);
  assert.match(page.body, '1001');
  assert.match(page.body, 'acme.se');
  assert.match(page.body, 'Greta Kund');
  assert.match(page.body, 'greta@acme.se');
  assert.match(page.body, 'href="/cases/K-7">K-7</a>');
  assert.match(page.body, 'Leverans saknas');
  assert.not.match(page.body, '/admin/customers/', 'agents edit nothing here');
  const boss = await loggedIn('boss');
  assert.match((await boss.get(`/customers/${ctx.customerId}`)).body, `/admin/customers/${ctx.customerId}`);
  assert.is((await anna.get('/customers/999999')).statusCode, 404);
  assert.is((await anna.get('/customers/x')).statusCode, 404);
  const kase = await anna.get('/cases/K-7');
  assert.match(kase.body, `<a href="/customers/${ctx.customerId}">1001 Acme AB</a>`);
  const stranger = await new TestClient(ctx.app).get(`/customers/${ctx.customerId}`);
  assert.is(stranger.statusCode, 303, 'login required');
});

test.run();
