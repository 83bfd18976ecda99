import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; admin: TestClient };
const test = suite('Administration registers');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.app = await buildTestApp(t.db);
  await seedUser(t.db, 'BOSS', 'admin');
  await seedUser(t.db, 'KALLE', 'agent');
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('boss');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

// Opens the form first, as a browser would, then posts it; returns the id the redirect names.
async function create(slug: string, form: Record<string, string>): Promise<number> {
  await ctx.admin.get(`/admin/${slug}/new`);
  const res = await ctx.admin.post(`/admin/${slug}`, form);
  assert.is(res.statusCode, 303, res.body);
  const id = new RegExp(`^/admin/${slug}/(\\d+)$`).exec(String(res.headers.location))?.[1];
  assert.ok(id, `redirect to the new row, got ${res.headers.location}`);
  const page = await ctx.admin.get(String(res.headers.location));
  assert.match(page.body, 'Sparat.');
  return Number(id);
}

async function edit(slug: string, id: number, form: Record<string, string>): Promise<void> {
  await ctx.admin.get(`/admin/${slug}/${id}`);
  const res = await ctx.admin.post(`/admin/${slug}/${id}`, form);
  assert.is(res.statusCode, 303, res.body);
  assert.is(res.headers.location, `/admin/${slug}/${id}`);
}

async function setActive(slug: string, id: number, active: boolean): Promise<void> {
  await ctx.admin.get(`/admin/${slug}/${id}`);
  const res = await ctx.admin.post(`/admin/${slug}/${id}/activation`, { active: active ? '1' : '0' });
  assert.is(res.statusCode, 303, res.body);
  assert.is(res.headers.location, `/admin/${slug}/${id}`);
}

// The list hides inactive rows unless asked to show them.
async function listed(slug: string, text: string, opts: { inactive?: boolean } = {}): Promise<boolean> {
  const res = await ctx.admin.get(`/admin/${slug}${opts.inactive ? '?inactive=1' : ''}`);
  assert.is(res.statusCode, 200);
  return res.body.includes(text);
}

test('the administration page links to all five registers', async () => {
  const res = await ctx.admin.get('/admin');
  const links = {
    'case-types': 'Ärendetyper',
    statuses: 'Statusar',
    priorities: 'Prioriteter',
    'number-series': 'Löpnummerserier',
    'canned-replies': 'Svarstexter',
  };
  for (const [slug, title] of Object.entries(links)) assert.match(res.body, `<a href="/admin/${slug}">${title}</a>`);
});

test('the seed status "Till uppdrag" exists with kind work_order and is listed', async () => {
  const row = await ctx.db
    .selectFrom('case_statuses')
    .selectAll()
    .where('name', '=', 'Till uppdrag')
    .executeTakeFirstOrThrow();
  assert.is(row.kind, 'work_order');
  assert.ok(row.active);
  const res = await ctx.admin.get('/admin/statuses');
  assert.match(
    res.body,
    new RegExp(`<a href="/admin/statuses/${row.id}">Till uppdrag</a></td>\\s*<td>Till uppdrag</td>`),
  );
});

test('case types: create, edit, deactivate and activate again', async () => {
  const id = await create('case-types', { name: 'Installation', position: '7' });
  let row = await ctx.db.selectFrom('case_types').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { id, name: 'Installation', position: 7, active: true, system_key: null });

  await edit('case-types', id, { name: 'Installation på plats', position: '' });
  row = await ctx.db.selectFrom('case_types').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { id, name: 'Installation på plats', position: 0, active: true, system_key: null });
  assert.ok(await listed('case-types', 'Installation på plats'));

  await setActive('case-types', id, false);
  row = await ctx.db.selectFrom('case_types').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.active, false);
  assert.not.ok(await listed('case-types', 'Installation på plats'));
  assert.ok(await listed('case-types', 'Installation på plats', { inactive: true }));
  const page = await ctx.admin.get(`/admin/case-types/${id}`);
  assert.match(page.body, 'name="active" value="1"');
  assert.match(page.body, '<label for="f-name">Namn');
  assert.match(page.body, '<input id="f-name" name="name" type="text" value="Installation på plats"');

  await setActive('case-types', id, true);
  row = await ctx.db.selectFrom('case_types').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.active, true);
});

test('statuses: create, edit the kind, deactivate', async () => {
  const id = await create('statuses', { name: 'Väntar på leverantör', kind: 'waiting', position: '5' });
  let row = await ctx.db.selectFrom('case_statuses').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { id, name: 'Väntar på leverantör', kind: 'waiting', position: 5, active: true });

  await edit('statuses', id, { name: 'Väntar på leverantör', kind: 'work_order', position: '6' });
  row = await ctx.db.selectFrom('case_statuses').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.kind, 'work_order');
  assert.is(row.position, 6);

  await setActive('statuses', id, false);
  row = await ctx.db.selectFrom('case_statuses').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.active, false);
  assert.not.ok(await listed('statuses', 'Väntar på leverantör'));
});

test('a status kind outside the four is refused', async () => {
  await ctx.admin.get('/admin/statuses/new');
  const res = await ctx.admin.post('/admin/statuses', { name: 'Konstig', kind: 'deleted', position: '1' });
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'id="f-kind-error"');
  const count = await ctx.db.selectFrom('case_statuses').select('id').where('name', '=', 'Konstig').execute();
  assert.is(count.length, 0);
});

test('priorities: create, edit, deactivate; rank must be 1 or more', async () => {
  const id = await create('priorities', { name: 'Akut', rank: '1' });
  let row = await ctx.db.selectFrom('priorities').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { id, name: 'Akut', rank: 1, active: true });

  await edit('priorities', id, { name: 'Akut!', rank: '2' });
  row = await ctx.db.selectFrom('priorities').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { id, name: 'Akut!', rank: 2, active: true });

  const bad = await ctx.admin.post(`/admin/priorities/${id}`, { name: 'Akut!', rank: '0' });
  assert.is(bad.statusCode, 422);
  assert.match(bad.body, 'Måste vara 1 eller mer.');

  await setActive('priorities', id, false);
  row = await ctx.db.selectFrom('priorities').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.active, false);
  assert.is(row.rank, 2, 'the refused edit changed nothing');
});

test('number series: create, edit, deactivate, with the next number shown as an example', async () => {
  const id = await create('number-series', {
    name: 'Reklamationer',
    prefix: '2026-',
    next_number: '42',
    digits: '5',
    purpose: 'cases',
  });
  let row = await ctx.db.selectFrom('number_series').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, {
    id,
    name: 'Reklamationer',
    prefix: '2026-',
    next_number: 42,
    digits: 5,
    active: true,
    purpose: 'cases',
  });
  assert.ok(await listed('number-series', '2026-00042'));
  assert.match((await ctx.admin.get(`/admin/number-series/${id}`)).body, '<output>2026-00042</output>');

  await edit('number-series', id, {
    name: 'Reklamationer',
    prefix: '',
    next_number: '1000',
    digits: '3',
    purpose: 'work_orders',
  });
  row = await ctx.db.selectFrom('number_series').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, {
    id,
    name: 'Reklamationer',
    prefix: '',
    next_number: 1000,
    digits: 3,
    active: true,
    purpose: 'work_orders',
  });
  assert.ok(await listed('number-series', '<td>1000</td>'));

  await setActive('number-series', id, false);
  row = await ctx.db.selectFrom('number_series').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.active, false);
});

test('number series: next number 0 and 20 digits are refused beside their fields, values kept', async () => {
  await ctx.admin.get('/admin/number-series/new');
  const res = await ctx.admin.post('/admin/number-series', {
    name: 'Trasig',
    prefix: 'T-',
    next_number: '0',
    digits: '20',
  });
  assert.is(res.statusCode, 422);
  assert.match(res.body, /id="f-next_number-error">Måste vara 1 eller mer\.</);
  assert.match(res.body, /id="f-digits-error">Mellan 1 och 12\.</);
  assert.match(res.body, 'name="name" type="text" value="Trasig"');
  assert.match(res.body, 'name="prefix" type="text" value="T-"');
  assert.match(res.body, 'name="next_number" type="number" value="0"');
  assert.match(res.body, 'name="digits" type="number" value="20"');

  const notNumbers = await ctx.admin.post('/admin/number-series', {
    name: 'Trasig',
    prefix: '',
    next_number: 'tio',
    digits: '99999999999',
  });
  assert.is(notNumbers.statusCode, 422);
  assert.match(notNumbers.body, /id="f-next_number-error">Måste vara ett heltal\.</);
  assert.match(notNumbers.body, /id="f-digits-error">Mellan 1 och 12\.</);

  const huge = await ctx.admin.post('/admin/number-series', {
    name: 'Trasig',
    next_number: '99999999999',
    digits: '5',
  });
  assert.is(huge.statusCode, 422);
  assert.match(huge.body, /id="f-next_number-error">För stort: högst 2147483647\.</);

  const rows = await ctx.db.selectFrom('number_series').select('id').where('name', '=', 'Trasig').execute();
  assert.is(rows.length, 0);
});

test('a duplicate name is refused with the message beside the field and the values kept', async () => {
  await ctx.admin.get('/admin/case-types/new');
  const res = await ctx.admin.post('/admin/case-types', { name: 'Support', position: '12' });
  assert.is(res.statusCode, 422);
  assert.match(res.body, /id="f-name-error">Namnet används redan\.</);
  assert.match(res.body, 'name="name" type="text" value="Support"');
  assert.match(res.body, 'name="position" type="number" value="12"');
  const rows = await ctx.db.selectFrom('case_types').select('id').where('name', '=', 'Support').execute();
  assert.is(rows.length, 1);

  // Renaming onto an existing name is refused the same way.
  const open = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('name', '=', 'Öppen')
    .executeTakeFirstOrThrow();
  await ctx.admin.get(`/admin/statuses/${open.id}`);
  const rename = await ctx.admin.post(`/admin/statuses/${open.id}`, { name: 'Stängd', kind: 'open', position: '1' });
  assert.is(rename.statusCode, 422);
  assert.match(rename.body, 'Namnet används redan.');
  assert.match(rename.body, 'value="Stängd"');
  const still = await ctx.db
    .selectFrom('case_statuses')
    .select('name')
    .where('id', '=', open.id)
    .executeTakeFirstOrThrow();
  assert.is(still.name, 'Öppen');
});

test('canned replies: create, edit, deactivate', async () => {
  const id = await create('canned-replies', { title: 'Tack', body_html: '<div>Tack för ditt meddelande.</div>' });
  let row = await ctx.db.selectFrom('canned_replies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { id, title: 'Tack', body_html: '<div>Tack för ditt meddelande.</div>', active: true });
  const page = await ctx.admin.get(`/admin/canned-replies/${id}`);
  assert.match(page.body, 'value="&lt;div&gt;Tack för ditt meddelande.&lt;/div&gt;"');
  assert.match(page.body, '<trix-editor input="f-body_html"');

  await edit('canned-replies', id, { title: 'Tack!', body_html: '<div>Tack, <strong>vi återkommer</strong>.</div>' });
  row = await ctx.db.selectFrom('canned_replies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.title, 'Tack!');
  assert.is(row.body_html, '<div>Tack, <strong>vi återkommer</strong>.</div>');

  await setActive('canned-replies', id, false);
  row = await ctx.db.selectFrom('canned_replies').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.active, false);
});

test('a canned reply body is stored sanitised, and an empty body is refused', async () => {
  const id = await create('canned-replies', {
    title: 'Farlig',
    body_html:
      '<div>Hej<script>alert(1)</script> <a href="javascript:alert(2)">här</a><img src="x" onerror="alert(3)"></div>',
  });
  const row = await ctx.db
    .selectFrom('canned_replies')
    .select('body_html')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  assert.is(row.body_html, '<div>Hej <a rel="noopener noreferrer" target="_blank">här</a></div>');

  await ctx.admin.get('/admin/canned-replies/new');
  const empty = await ctx.admin.post('/admin/canned-replies', { title: 'Tom', body_html: '<div><br></div>' });
  assert.is(empty.statusCode, 422);
  assert.match(empty.body, /id="f-body_html-error">Måste fyllas i\.</);
});

test('a refused canned reply keeps the typed rich text, sanitised', async () => {
  await create('canned-replies', { title: 'Välkommen', body_html: '<div>Välkommen!</div>' });
  await ctx.admin.get('/admin/canned-replies/new');
  const res = await ctx.admin.post('/admin/canned-replies', {
    title: 'Välkommen',
    body_html: '<div>Ny <em>text</em><script>alert(1)</script></div>',
  });
  assert.is(res.statusCode, 422);
  assert.match(res.body, /id="f-title-error">Rubriken används redan\.</);
  assert.match(res.body, 'value="&lt;div&gt;Ny &lt;em&gt;text&lt;/em&gt;&lt;/div&gt;"');
  assert.not.match(res.body, /alert\(1\)/);
});

test('an agent gets 403 on every register page and form post, and nothing changes', async () => {
  const agent = new TestClient(ctx.app);
  await agent.login('kalle');
  for (const url of ['/admin/case-types', '/admin/priorities/new', '/admin/statuses/1'])
    assert.is((await agent.get(url)).statusCode, 403, url);
  const post = await agent.post('/admin/case-types', { name: 'Agentens typ', position: '1' });
  assert.is(post.statusCode, 403);
  const deactivate = await agent.post('/admin/statuses/1/activation', { active: '0' });
  assert.is(deactivate.statusCode, 403);
  const inserted = await ctx.db.selectFrom('case_types').select('id').where('name', '=', 'Agentens typ').execute();
  assert.is(inserted.length, 0);
  const status = await ctx.db
    .selectFrom('case_statuses')
    .select('active')
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  assert.is(status.active, true);
});

test('an unknown register or row is 404', async () => {
  for (const url of [
    '/admin/colours',
    '/admin/colours/new',
    '/admin/colours/1',
    '/admin/case-types/999999',
    '/admin/case-types/abc',
    '/admin/case-types/99999999999999',
  ])
    assert.is((await ctx.admin.get(url)).statusCode, 404, url);
  await ctx.admin.get('/admin/case-types');
  assert.is((await ctx.admin.post('/admin/colours', { name: 'Röd' })).statusCode, 404);
  assert.is((await ctx.admin.post('/admin/case-types/999999/activation', { active: '0' })).statusCode, 404);
});

test('activation accepts only 1 or 0', async () => {
  await ctx.admin.get('/admin/priorities/1');
  const res = await ctx.admin.post('/admin/priorities/1/activation', { active: 'maybe' });
  assert.is(res.statusCode, 422);
  const row = await ctx.db.selectFrom('priorities').select('active').where('id', '=', 1).executeTakeFirstOrThrow();
  assert.is(row.active, true);
});

test('forms carry the CSRF token and the save shortcut, and a post without the token is refused', async () => {
  const page = await ctx.admin.get('/admin/number-series/new');
  assert.match(page.body, /<form method="post" action="\/admin\/number-series" class="form-grid" data-save-shortcut/);
  assert.match(page.body, 'name="_csrf" value="');
  const res = await ctx.admin.post('/admin/case-types', { _csrf: '', name: 'Utan token' });
  assert.is(res.statusCode, 403);
});

test.run();
