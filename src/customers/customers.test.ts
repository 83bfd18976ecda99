import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { createCustomer, parseEmailDomains } from './customers.ts';
import { customersPerPage, listCustomers } from './queries.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void> };
const test = suite('Customer and contact register');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.app = await buildTestApp(t.db);
  await seedUser(t.db, 'BOSS', 'admin', { language: 'sv' });
  await seedUser(t.db, 'ADA', 'admin', { language: 'en' });
  await seedUser(t.db, 'KALLE', 'agent');
  await createCustomer(t.db, { number: '10010', name: 'Acme Verkstad AB', email_domains: ['acme.se'] });
  await createCustomer(t.db, { number: '10020', name: 'Björks Bageri', email_domains: [] });
  await createCustomer(t.db, { number: '20010', name: 'Nordic Acme Oy', email_domains: [] });
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

async function admin(login = 'BOSS'): Promise<TestClient> {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
}

function customerRow(number: string) {
  return ctx.db.selectFrom('customers').selectAll().where('number', '=', number).executeTakeFirstOrThrow();
}

test('an admin creates a customer, lands on it with a flash, and sees it in the list', async () => {
  const client = await admin('ADA');
  const form = await client.get('/admin/customers/new');
  assert.is(form.statusCode, 200);
  assert.match(form.body, '>Customer number');
  assert.match(form.body, /<button type="submit" class="primary">Save<\/button>/);
  const res = await client.post('/admin/customers', { number: ' 30001 ', name: 'Zeta Consulting', email_domains: '' });
  assert.is(res.statusCode, 303);
  const row = await customerRow('30001');
  assert.is(res.headers.location, `/admin/customers/${row.id}`);
  assert.is(row.name, 'Zeta Consulting');
  const page = await client.get(res.headers.location as string);
  assert.match(page.body, 'Saved.');
  assert.match(page.body, 'value="30001"');
  assert.match(page.body, '>Add contact</button>');
  const list = await client.get('/admin/customers');
  assert.is(list.statusCode, 200);
  assert.match(list.body, `<a href="/admin/customers/${row.id}">30001</a>`);
  assert.match(list.body, 'Zeta Consulting');
});

test('e-mail domains are stored as a lower-case array, and a bad one is refused beside its field', async () => {
  const client = await admin();
  await client.get('/admin/customers/new');
  const res = await client.post('/admin/customers', {
    number: '30002',
    name: 'Domän AB',
    email_domains: 'Example.COM, @Example.se  example.com',
  });
  assert.is(res.statusCode, 303);
  assert.equal((await customerRow('30002')).email_domains, ['example.com', 'example.se']);

  const bad = await client.post('/admin/customers', {
    number: '30003',
    name: 'Fel AB',
    email_domains: 'ok.se, not a_domain',
  });
  assert.is(bad.statusCode, 422);
  assert.match(bad.body, 'Skriv domäner som exempel.se');
  assert.match(bad.body, 'value="ok.se, not a_domain"');
  assert.not.ok(await ctx.db.selectFrom('customers').select('id').where('number', '=', '30003').executeTakeFirst());
});

test('a search finds customers by number prefix and by name regardless of case', async () => {
  const client = await admin();
  const byNumber = await client.get('/admin/customers?q=100');
  assert.match(byNumber.body, '>10010</a>');
  assert.match(byNumber.body, '>10020</a>');
  assert.not.match(byNumber.body, '>20010</a>');
  const byName = await client.get('/admin/customers?q=aCME');
  assert.match(byName.body, '>10010</a>');
  assert.match(byName.body, '>20010</a>');
  assert.not.match(byName.body, '>10020</a>');
  assert.match(byName.body, 'value="aCME"');
  const none = await client.get('/admin/customers?q=%25');
  assert.match(none.body, 'Inga kunder matchar sökningen.');
});

test('a search through htmx answers with the result rows only', async () => {
  const client = await admin();
  const res = await client.get('/admin/customers?q=bj%C3%B6rk', { htmx: true });
  assert.is(res.statusCode, 200);
  assert.match(String(res.headers.vary), /\bHX-Request\b/);
  assert.not.match(res.body, '<html');
  assert.not.match(res.body, 'name="q"');
  assert.match(res.body, 'id="customer-rows"');
  assert.match(res.body, '>10020</a>');
  assert.not.match(res.body, '>10010</a>');
});

test('inactive customers are hidden unless asked for', async () => {
  const client = await admin();
  await client.get('/admin/customers/new');
  await client.post('/admin/customers', { number: '40001', name: 'Vilande AB' });
  const row = await customerRow('40001');
  const off = await client.post(`/admin/customers/${row.id}/activation`, { active: '0' });
  assert.is(off.statusCode, 303);
  assert.is((await customerRow('40001')).active, false);
  assert.not.match((await client.get('/admin/customers?q=40001')).body, '>40001</a>');
  assert.match((await client.get('/admin/customers?q=40001&inactive=1')).body, '>40001</a>');
});

test('a duplicate customer number is refused in Swedish with everything typed kept', async () => {
  const client = await admin();
  await client.get('/admin/customers/new');
  const res = await client.post('/admin/customers', {
    number: '10010',
    name: 'Andra Acme',
    email_domains: 'andra.se',
  });
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Kundnumret används redan.');
  assert.match(res.body, 'value="10010"');
  assert.match(res.body, 'value="Andra Acme"');
  assert.match(res.body, 'value="andra.se"');
  assert.match(res.body, 'aria-invalid="true"');
  const count = await ctx.db.selectFrom('customers').select('id').where('number', '=', '10010').execute();
  assert.is(count.length, 1);

  // The same on update: renaming 10020 to 10010 keeps the row as it was.
  const other = await customerRow('10020');
  await client.get(`/admin/customers/${other.id}`);
  const update = await client.post(`/admin/customers/${other.id}`, { number: '10010', name: 'Björks Bageri' });
  assert.is(update.statusCode, 422);
  assert.match(update.body, 'Kundnumret används redan.');
  assert.is((await customerRow('10020')).id, other.id);
});

test('an empty form shows the required errors beside the fields', async () => {
  const client = await admin();
  await client.get('/admin/customers/new');
  const res = await client.post('/admin/customers', { number: '  ', name: '' });
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'id="f-number-error">Måste fyllas i.');
  assert.match(res.body, 'id="f-name-error">Måste fyllas i.');
  assert.match(res.body, 'Rätta fälten som är markerade nedan.');
});

test('an admin adds and edits a contact; a bad e-mail is shown beside the field', async () => {
  const client = await admin();
  const customer = await customerRow('10010');
  const page = await client.get(`/admin/customers/${customer.id}`);
  assert.match(page.body, 'Lägg till kontaktperson');

  const bad = await client.post(`/admin/customers/${customer.id}/contacts`, {
    name: 'Anna Andersson',
    email: 'anna-at-acme',
    phone: '070-123 45 67',
  });
  assert.is(bad.statusCode, 422);
  assert.match(bad.body, 'id="contact-email-error">Inte en giltig e-postadress.');
  assert.match(bad.body, 'value="Anna Andersson"');
  assert.match(bad.body, 'value="070-123 45 67"');
  assert.match(bad.body, 'value="Acme Verkstad AB"', 'the customer form is still filled in');

  const ok = await client.post(`/admin/customers/${customer.id}/contacts`, {
    name: 'Anna Andersson',
    email: 'anna@acme.se',
    phone: '070-123 45 67',
  });
  assert.is(ok.statusCode, 303);
  const contact = await ctx.db
    .selectFrom('contacts')
    .selectAll()
    .where('customer_id', '=', customer.id)
    .executeTakeFirstOrThrow();
  assert.is(contact.email, 'anna@acme.se');
  const shown = await client.get(`/admin/customers/${customer.id}`);
  assert.match(shown.body, `/admin/customers/${customer.id}/contacts/${contact.id}">Anna Andersson</a>`);

  const edit = await client.get(`/admin/customers/${customer.id}/contacts/${contact.id}`);
  assert.is(edit.statusCode, 200);
  assert.match(edit.body, 'value="anna@acme.se"');
  const badEdit = await client.post(`/admin/customers/${customer.id}/contacts/${contact.id}`, {
    name: 'Anna Berg',
    email: 'nope',
  });
  assert.is(badEdit.statusCode, 422);
  assert.match(badEdit.body, 'Inte en giltig e-postadress.');
  assert.match(badEdit.body, 'value="Anna Berg"');
  const saved = await client.post(`/admin/customers/${customer.id}/contacts/${contact.id}`, {
    name: 'Anna Berg',
    email: '',
    phone: '',
  });
  assert.is(saved.statusCode, 303);
  const after = await ctx.db.selectFrom('contacts').selectAll().where('id', '=', contact.id).executeTakeFirstOrThrow();
  assert.is(after.name, 'Anna Berg');
  assert.is(after.email, null);
  assert.is(after.phone, null);

  const off = await client.post(`/admin/customers/${customer.id}/contacts/${contact.id}/activation`, { active: '0' });
  assert.is(off.statusCode, 303);
  const inactive = await ctx.db
    .selectFrom('contacts')
    .select('active')
    .where('id', '=', contact.id)
    .executeTakeFirstOrThrow();
  assert.is(inactive.active, false);
});

test('a contact is only reachable under its own customer', async () => {
  const client = await admin();
  const acme = await customerRow('10010');
  const other = await customerRow('20010');
  const contact = await ctx.db
    .insertInto('contacts')
    .values({ customer_id: acme.id, name: 'Kalle Kontakt' })
    .returning('id')
    .executeTakeFirstOrThrow();
  assert.is((await client.get(`/admin/customers/${other.id}/contacts/${contact.id}`)).statusCode, 404);
  assert.is((await client.get(`/admin/customers/${acme.id}/contacts/${contact.id}`)).statusCode, 200);
  assert.is((await client.get('/admin/customers/abc')).statusCode, 404);
  assert.is((await client.get('/admin/customers/99999999999')).statusCode, 404);
});

test('an agent may neither see nor change the register', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const list = await client.get('/admin/customers');
  assert.is(list.statusCode, 403);
  assert.not.match(list.body, '10010');
  const create = await client.post('/admin/customers', { number: '50001', name: 'Smyg AB' });
  assert.is(create.statusCode, 403);
  assert.not.ok(await ctx.db.selectFrom('customers').select('id').where('number', '=', '50001').executeTakeFirst());
});

test('a POST without the CSRF token is refused', async () => {
  const client = await admin();
  await client.get('/admin/customers/new');
  const res = await client.post('/admin/customers', { _csrf: '', number: '50002', name: 'Utan Token AB' });
  assert.is(res.statusCode, 403);
  assert.not.ok(await ctx.db.selectFrom('customers').select('id').where('number', '=', '50002').executeTakeFirst());
});

test('the list pages by fifty', async () => {
  for (let i = 0; i < customersPerPage + 5; i++)
    await createCustomer(ctx.db, { number: `9${String(i).padStart(4, '0')}`, name: `Massa ${i}`, email_domains: [] });
  const first = await listCustomers(ctx.db, { q: '9' });
  assert.is(first.customers.length, customersPerPage);
  assert.ok(first.hasMore);
  const second = await listCustomers(ctx.db, { q: '9', page: 2 });
  assert.is(second.customers.length, 5);
  assert.not.ok(second.hasMore);
  const client = await admin();
  const page = await client.get('/admin/customers?q=9');
  assert.match(page.body, 'href="/admin/customers?q=9&amp;page=2"');
});

test('domain text is split on commas and spaces, de-duplicated and lower-cased', () => {
  assert.equal(parseEmailDomains(' A.se,b.SE;; a.se\n@c.com '), ['a.se', 'b.se', 'c.com']);
  assert.equal(parseEmailDomains(''), []);
});

test.run();
