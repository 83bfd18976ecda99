import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createContact, createCustomer, setCustomerActive } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { addThreadEntry } from '../threads/entries.ts';
import { createCase, createCaseRecord, type NewCaseInput, takeCaseNumber } from './cases.ts';

const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  customerId: number;
  contactId: number;
  ids: { open: number; waiting: number; support: number; high: number };
};
const test = suite('Creating and working a case');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent');
  const customer = await createCustomer(ctx.db, { number: 'K1001', name: 'Acme AB', email_domains: ['acme.se'] });
  ctx.customerId = customer.id;
  ctx.contactId = (
    await createContact(ctx.db, customer.id, { name: 'Per Persson', email: 'per@acme.se', phone: null })
  ).id;
  const status = (name: string) =>
    ctx.db.selectFrom('case_statuses').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  ctx.ids = {
    open: (await status('Öppen')).id,
    waiting: (await status('Väntar på kund')).id,
    support: (
      await ctx.db.selectFrom('case_types').select('id').where('name', '=', 'Support').executeTakeFirstOrThrow()
    ).id,
    high: (await ctx.db.selectFrom('priorities').select('id').where('name', '=', 'Hög').executeTakeFirstOrThrow()).id,
  };
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const caseForm = (over: Record<string, string> = {}) => ({
  title: 'Skrivaren fastnar',
  responsible_id: String(ctx.anna.id),
  customer: 'K1001',
  status_id: String(ctx.ids.open),
  case_type_id: String(ctx.ids.support),
  priority_id: String(ctx.ids.high),
  due_date: '2026-12-01',
  contact_id: String(ctx.contactId),
  body_html: '<div>Pappret fastnar <strong>varje gång</strong>.</div>',
  ...over,
});

test("the new case form starts as the user's own open case of the first type", async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const page = await client.get('/cases/new');
  assert.is(page.statusCode, 200);
  const selected = (name: string) =>
    new RegExp(`name="${name}"[^>]*>[\\s\\S]*?<option value="(\\d+)" selected>`).exec(page.body)?.[1];
  assert.is(selected('status_id'), String(ctx.ids.open));
  assert.is(selected('case_type_id'), String(ctx.ids.support));
  assert.is(selected('responsible_id'), String(ctx.kalle.id));
});

test('a missing field is named beside it and everything typed, rich text too, is kept', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/cases/new');
  const res = await client.post('/cases', caseForm({ title: '', customer: 'NOPE' }));
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Måste fyllas i.');
  assert.match(res.body, 'Det finns ingen kund NOPE.');
  assert.match(res.body, 'value="NOPE"');
  assert.match(
    res.body,
    'Pappret fastnar &lt;strong&gt;varje gång&lt;/strong&gt;',
    'the Trix hidden input keeps the text',
  );
  const count = await ctx.db
    .selectFrom('cases')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  assert.is(count.n, 0);
});

test('a complete case gets the next number, its text is the first thread entry, and ANNA is notified', async () => {
  const series = await ctx.db.selectFrom('number_series').selectAll().executeTakeFirstOrThrow();
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/cases/new');
  const res = await client.post('/cases', caseForm());
  assert.is(res.statusCode, 303);
  const number = `${series.prefix}${String(series.next_number).padStart(series.digits, '0')}`;
  assert.is(res.headers.location, `/cases/${number}`);
  const page = await client.get(`/cases/${number}`);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Skrivaren fastnar');
  assert.match(page.body, '<strong>varje gång</strong>');
  assert.match(page.body, 'Per Persson');
  const anna = new TestClient(ctx.app);
  await anna.login('anna');
  const cases = await anna.get('/cases');
  assert.match(cases.body, `href="/cases/${number}"`, "the case is in ANNA's open cases");
  assert.match(cases.body, '<span class="badge">1</span>', 'her bell counts one unread notification');
  // the case page counts the bell in its own first statement (loadCaseForPage)
  for (const url of [`/cases/${number}`, `/cases/${number}/history`]) {
    const onCase = await anna.get(url);
    assert.match(onCase.body, '<span class="badge">1</span>', `the bell on ${url}`);
  }
  const onTab = await anna.get(`/cases/${number}/history`, { htmx: true });
  assert.not.match(onTab.body, 'class="badge"', 'a tab fragment has no bell');
});

test('rich text is sanitised before it is stored', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/cases/new');
  const res = await client.post(
    '/cases',
    caseForm({
      title: 'XSS',
      body_html:
        '<div style="color:red" onclick="x()">Hej<img src=x onerror=alert(1)><script>alert(2)</script><a href="javascript:alert(3)">länk</a></div>',
    }),
  );
  assert.is(res.statusCode, 303);
  const entry = await ctx.db
    .selectFrom('thread_entries')
    .innerJoin('cases', 'cases.id', 'thread_entries.case_id')
    .select('body_html')
    .where('cases.title', '=', 'XSS')
    .executeTakeFirstOrThrow();
  for (const bad of ['onerror', '<script', 'javascript:', 'style=', 'onclick']) assert.not.match(entry.body_html, bad);
  assert.match(entry.body_html, 'Hej');
});

test('50 cases created at once get 50 distinct, consecutive numbers', async () => {
  const before = await ctx.db
    .selectFrom('number_series')
    .selectAll()
    .where('purpose', '=', 'cases')
    .executeTakeFirstOrThrow();
  const input: NewCaseInput = {
    title: 'Parallell',
    responsible_id: ctx.kalle.id,
    customer_id: ctx.customerId,
    status_id: ctx.ids.open,
    case_type_id: ctx.ids.support,
    priority_id: null,
    due_date: null,
    contact_id: null,
    contact_name: null,
    contact_email: null,
    contact_phone: null,
    body_html: '<div>x</div>',
  };
  const created = await Promise.all(Array.from({ length: 50 }, () => createCase(ctx.db, input, ctx.kalle)));
  const numbers = created.map((c) => Number(c.number.slice(before.prefix.length))).sort((a, b) => a - b);
  assert.is(new Set(numbers).size, 50);
  assert.equal(
    numbers,
    Array.from({ length: 50 }, (_, i) => before.next_number + i),
  );
  // A refused creation (no such customer) takes no number: the form is checked first.
  await createCase(ctx.db, { ...input, customer_id: 999999 }, ctx.kalle).catch(() => {});
  const after = await ctx.db
    .selectFrom('number_series')
    .selectAll()
    .where('id', '=', before.id)
    .executeTakeFirstOrThrow();
  assert.is(after.next_number, before.next_number + 50);
});

test('the same "New case" form sent twice, in a row or at once, makes one case and one notification', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const casesTitled = async (title: string) =>
    (await ctx.db.selectFrom('cases').select('number').where('title', '=', title).execute()).map((c) => c.number);

  const form = caseForm({ title: 'Två klick', form_key: formKeyIn((await client.get('/cases/new')).body) });
  const first = await client.post('/cases', form);
  const second = await client.post('/cases', form);
  const [number] = await casesTitled('Två klick');
  assert.equal(await casesTitled('Två klick'), [number]);
  assert.equal(
    [first, second].map((a) => [a.statusCode, a.headers.location]),
    [
      [303, `/cases/${number}`],
      [303, `/cases/${number}`],
    ],
  );

  const series = () => ctx.db.selectFrom('number_series').select('next_number').executeTakeFirstOrThrow();
  const beforeRepeat = (await series()).next_number;
  const again = await client.post('/cases', form);
  assert.is(again.headers.location, `/cases/${number}`);
  assert.is((await series()).next_number, beforeRepeat, 'a repeat takes no number');

  const atOnce = caseForm({ title: 'Samtidigt', form_key: formKeyIn((await client.get('/cases/new')).body) });
  const answers = await Promise.all([client.post('/cases', atOnce), client.post('/cases', atOnce)]);
  const numbers = await casesTitled('Samtidigt');
  assert.is(numbers.length, 1);
  assert.equal(
    answers.map((a) => a.headers.location),
    [`/cases/${numbers[0]}`, `/cases/${numbers[0]}`],
  );
  const bells = await ctx.db
    .selectFrom('notifications')
    .select('summary')
    .where('summary', 'like', '%Samtidigt')
    .execute();
  assert.is(bells.length, 1, 'ANNA is told once');
});

test("a new case's text is found by search at once, and so is a later entry of the same transaction", async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/cases/new');
  const res = await client.post(
    '/cases',
    caseForm({ title: 'Sökbar', body_html: '<div>Tonerkassetten läcker.</div>' }),
  );
  const number = String(res.headers.location).replace('/cases/', '');
  const found = await client.get('/cases?resp=any&q=tonerkassetten');
  assert.match(found.body, `href="/cases/${number}"`, 'found by a word of its text');

  // A case made with its first entry, then another entry in the same transaction (as a split or a
  // mail may): the second entry's words are added as usual.
  const created = await ctx.db.transaction().execute(async (trx) => {
    const kase = await createCaseRecord(
      trx,
      { title: 'Två poster', customer_id: ctx.customerId, case_type_id: ctx.ids.support, created_by: ctx.kalle.id },
      ctx.kalle,
      { firstEntry: { side: 'customer', user_id: null, author_name: 'Per', body_html: '<p>Fläkten surrar</p>' } },
    );
    await addThreadEntry(trx, {
      case_id: kase.id,
      side: 'staff',
      author_name: 'KALLE',
      body_html: '<p>Reservdelen beställd</p>',
    });
    return kase;
  });
  for (const word of ['fläkten', 'reservdelen']) {
    const page = await client.get(`/cases?resp=any&q=${encodeURIComponent(word)}`);
    assert.match(page.body, `href="/cases/${created.number}"`, `found by "${word}"`);
  }
  const inside = await ctx.db
    .transaction()
    .execute((trx) => takeCaseNumber(trx))
    .catch((e: Error) => e.message);
  // a number taken inside a transaction would keep the series locked to its end
  assert.match(String(inside), 'outside a transaction');
});

test('a header edit is recorded in the history, and a stale edit is refused', async () => {
  const kase = await ctx.db
    .selectFrom('cases')
    .selectAll()
    .where('title', '=', 'Skrivaren fastnar')
    .executeTakeFirstOrThrow();
  const kalle = new TestClient(ctx.app);
  await kalle.login('kalle');
  const anna = new TestClient(ctx.app);
  await anna.login('anna');
  await kalle.get(`/cases/${kase.number}`);
  await anna.get(`/cases/${kase.number}`);
  const first = await kalle.post(`/cases/${kase.number}/header`, {
    ...caseForm({ status_id: String(ctx.ids.waiting), title: 'Skrivaren fastnar i fack 2' }),
    version: String(kase.version),
  });
  assert.is(first.statusCode, 303);
  const stale = await anna.post(`/cases/${kase.number}/header`, {
    ...caseForm({ title: 'Annas titel' }),
    version: String(kase.version),
  });
  assert.is(stale.statusCode, 409);
  assert.match(stale.body, 'Någon annan sparade ärendet');
  assert.match(stale.body, 'value="Annas titel"', 'her typing is kept');
  const row = await ctx.db
    .selectFrom('cases')
    .select(['title', 'version'])
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.is(row.title, 'Skrivaren fastnar i fack 2');
  const history = await kalle.get(`/cases/${kase.number}/history`, { htmx: true });
  assert.not.match(history.body, '<html', 'htmx gets the tab fragment only');
  assert.match(history.body, 'Skrivaren fastnar i fack 2');
  assert.match(history.body, 'Kalle Testsson');
  assert.match(history.body, 'Rubrik');
  const events = await ctx.db
    .selectFrom('case_events')
    .select(['field', 'old_value', 'new_value'])
    .where('case_id', '=', kase.id)
    .where('kind', '=', 'field_changed')
    .execute();
  assert.equal(events.map((e) => e.field).sort(), ['status_id', 'title']);
});

test('a reply is stored on the staff side with the delivery the user chose', async () => {
  const kase = await ctx.db
    .selectFrom('cases')
    .selectAll()
    .where('title', 'like', 'Skrivaren%')
    .executeTakeFirstOrThrow();
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get(`/cases/${kase.number}`);
  const empty = await client.post(`/cases/${kase.number}/thread`, {
    body_html: '<div><br></div>',
    delivery: 'to_send',
  });
  assert.is(empty.statusCode, 422);
  const res = await client.post(`/cases/${kase.number}/thread`, {
    body_html: '<div>Prova fack 1.</div>',
    delivery: 'saved',
  });
  assert.is(res.statusCode, 303);
  const page = await client.get(`/cases/${kase.number}`);
  assert.match(page.body, 'Prova fack 1.');
  assert.match(page.body, 'Sparat, inte skickat');
  assert.match(page.body, 'Svaret har sparats.');
  assert.not.match(page.body, 'Det skickas till kunden.', 'saved only: the notice does not say it goes out');
  const thread = await ctx.db
    .selectFrom('thread_entries')
    .select(['side', 'delivery'])
    .where('case_id', '=', kase.id)
    .orderBy('id')
    .execute();
  assert.equal(thread, [
    { side: 'customer', delivery: 'none' },
    { side: 'staff', delivery: 'saved' },
  ]);
  const queued = await client.post(`/cases/${kase.number}/thread`, {
    body_html: '<div>Nu skickar vi.</div>',
    delivery: 'to_send',
    to: 'per@acme.se',
  });
  assert.is(queued.statusCode, 303, queued.body.slice(0, 300));
  const sent = await client.get(`/cases/${kase.number}`);
  assert.match(sent.body, 'Svaret har sparats. Det skickas till kunden om 10 s; till dess kan du ångra.');
});

test('the customer field takes a customer number or the full name of one active customer, in any case', async () => {
  const bergstrom = await createCustomer(ctx.db, { number: 'K2001', name: 'Bergström Bygg AB', email_domains: [] });
  const closedDown = await createCustomer(ctx.db, { number: 'K2004', name: 'Bergström Bygg AB', email_domains: [] });
  await setCustomerActive(ctx.db, closedDown.id, false);
  await createCustomer(ctx.db, { number: 'K2002', name: 'Nordbygg AB', email_domains: [] });
  await createCustomer(ctx.db, { number: 'K2003', name: 'Nordbygg AB', email_domains: [] });
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  await client.get('/cases/new');
  const form = (customer: string) =>
    caseForm({ title: 'Kunden skriven med namn', customer, contact_id: '', priority_id: '' });

  const byName = await client.post('/cases', form('  bergström bygg ab '));
  assert.is(byName.statusCode, 303, 'an exact name, trimmed and in any case, is that customer');
  const created = await ctx.db
    .selectFrom('cases')
    .select(['number', 'customer_id', 'version'])
    .where('title', '=', 'Kunden skriven med namn')
    .executeTakeFirstOrThrow();
  assert.is(created.customer_id, bergstrom.id, 'not the inactive customer of the same name');

  const several = await client.post('/cases', form('Nordbygg AB'));
  assert.is(several.statusCode, 422);
  assert.match(several.body, 'Flera kunder heter Nordbygg AB: välj en i listan.');
  assert.match(several.body, 'value="Nordbygg AB"');
  const none = await client.post('/cases', form('Bergström'));
  assert.is(none.statusCode, 422);
  assert.match(none.body, 'Det finns ingen kund Bergström.');
  assert.is(
    (await client.get('/cases/pickers/contacts?customer=Acme%20AB')).body.includes('Per Persson'),
    true,
    'the contacts of a customer typed by name are offered',
  );

  // The case page's header takes the same.
  await client.get(`/cases/${created.number}`);
  const header = (customer: string, version: number) =>
    client.post(`/cases/${created.number}/header`, { ...form(customer), version: String(version) });
  // The customer it has, gone inactive since, stays by its number.
  await setCustomerActive(ctx.db, bergstrom.id, false);
  const kept = await header('K2001', created.version);
  assert.is(kept.statusCode, 303, 'an inactive customer stays on its case');
  await setCustomerActive(ctx.db, bergstrom.id, true);
  const current = await ctx.db
    .selectFrom('cases')
    .select('version')
    .where('number', '=', created.number)
    .executeTakeFirstOrThrow();
  const renamed = await header('acme ab', current.version);
  assert.is(renamed.statusCode, 303);
  const after = await ctx.db
    .selectFrom('cases')
    .select(['customer_id', 'version'])
    .where('number', '=', created.number)
    .executeTakeFirstOrThrow();
  assert.is(after.customer_id, ctx.customerId);
  const refused = await header('Nordbygg AB', after.version);
  assert.is(refused.statusCode, 422);
  assert.match(refused.body, 'Flera kunder heter Nordbygg AB: välj en i listan.');
});

test("a new customer with the old customer's contact still chosen: the contact is marked, and the new customer's contacts are offered", async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const other = await ctx.db
    .insertInto('customers')
    .values({ number: 'K3003', name: 'Annan Kund AB' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await ctx.db.insertInto('contacts').values({ customer_id: other.id, name: 'Nina Nyström' }).execute();
  assert.is((await client.post('/cases', caseForm({ title: 'Byter kund' }))).statusCode, 303);
  const kase = await ctx.db
    .selectFrom('cases')
    .select(['number', 'version'])
    .where('title', '=', 'Byter kund')
    .executeTakeFirstOrThrow();
  await client.get(`/cases/${kase.number}`);
  const refused = await client.post(`/cases/${kase.number}/header`, {
    ...caseForm({ title: 'Byter kund', customer: 'K3003' }),
    version: String(kase.version),
  });
  assert.is(refused.statusCode, 422);
  assert.match(refused.body, /class="field has-error">\s*<label for="f-contact_id">/);
  assert.match(refused.body, 'Kontaktpersonen hör inte till kunden: välj en av kundens kontaktpersoner, eller —.');
  const contactList = /<select id="f-contact_id"[\s\S]*?<\/select>/.exec(refused.body)?.[0] ?? '';
  assert.match(contactList, 'Nina Nyström');
  assert.not.match(contactList, 'Per Persson');
  const saved = await client.post(`/cases/${kase.number}/header`, {
    ...caseForm({ title: 'Byter kund', customer: 'K3003', contact_id: '' }),
    version: String(kase.version),
  });
  assert.is(saved.statusCode, 303);
});

test('an unknown case number is a 404', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  assert.is((await client.get('/cases/1999-99999')).statusCode, 404);
});

test.run();
