import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { sv } from '../i18n/sv.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { urlencoded } from '../test-support/every-route.ts';
import { seedPrinterJamCase } from '../test-support/seeds.ts';
import {
  bigIdListField,
  idField,
  idListField,
  optionalIdField,
  optionalMultiLine,
  parseBigId,
  parseForm,
  parseId,
  requiredText,
  toMultiLine,
  toSingleLine,
} from './form.ts';

const rules = suite('The form layer: one rule for repeated fields, one-line and multi-line text, ids');

rules('a field sent twice is refused as repeated; a missing one as required', () => {
  const schema = z.object({ title: requiredText(20), note: optionalMultiLine(100) });
  assert.equal(parseForm(schema, { title: ['a', 'b'] }), { ok: false, errors: { title: 'errors.repeated' } });
  assert.equal(parseForm(schema, {}), { ok: false, errors: { title: 'errors.required' } });
  assert.equal(parseForm(schema, undefined), { ok: false, errors: { title: 'errors.required' } });
  assert.equal(parseForm(schema, { title: 'a', note: ['x', 'y'] }), { ok: false, errors: { note: 'errors.repeated' } });
});

rules('one-line text: control characters and line breaks become one space, then trimmed', () => {
  assert.is(toSingleLine('  Skrivaren\r\nfastnar\ti\u0000fack\u2028 2  '), 'Skrivaren fastnar i fack 2');
  assert.is(toSingleLine('a \u001b\u007f b'), 'a b');
  const parsed = parseForm(z.object({ title: requiredText(200) }), { title: 'Rad ett\r\n\r\nRad två' });
  assert.equal(parsed, { ok: true, data: { title: 'Rad ett Rad två' } });
  // a title of nothing but line breaks is empty, so required
  assert.equal(parseForm(z.object({ title: requiredText(200) }), { title: '\r\n\t' }), {
    ok: false,
    errors: { title: 'errors.required' },
  });
});

rules('multi-line text keeps its lines (as \\n) and tabs, and loses NUL and other controls', () => {
  assert.is(toMultiLine('rad 1\r\nrad 2\rrad 3\n\tindrag\u0000\u001b\u0007'), 'rad 1\nrad 2\nrad 3\n\tindrag');
});

rules('ids: serial within int4, bigserial within int8, anything else names no row', () => {
  assert.is(parseId('2147483647'), 2147483647);
  for (const text of ['2147483648', '0', '-1', '1.5', '1e3', '0x10', ' 1', '', 'abc', undefined, ['1']]) {
    assert.is(parseId(text), null, String(text));
  }
  assert.is(parseBigId('9223372036854775807'), '9223372036854775807');
  for (const text of ['9223372036854775808', '99999999999999999999', '0', '%00']) {
    assert.is(parseBigId(text), null, text);
  }
});

rules('an id picked in a form is read as a path id is: the same ids pass, the rest is the field’s error', () => {
  const schema = z.object({
    a: idField('errors.customer_required'),
    b: optionalIdField,
    c: idListField,
    d: bigIdListField,
  });
  assert.equal(parseForm(schema, { a: ' 7 ', b: '', c: ['1', '2'], d: '9223372036854775807' }), {
    ok: true,
    data: { a: 7, b: null, c: [1, 2], d: ['9223372036854775807'] },
  });
  assert.equal(parseForm(schema, { a: 7, b: 3 }), { ok: true, data: { a: 7, b: 3, c: [], d: [] } });
  for (const bad of ['0', '-1', '1.5', '1e3', '0x10', 'abc']) {
    assert.equal(
      parseForm(schema, { a: bad, b: bad, c: bad, d: bad }),
      {
        ok: false,
        errors: { a: 'errors.customer_required', b: 'errors.invalid', c: 'errors.invalid', d: 'errors.invalid' },
      },
      bad,
    );
  }
  assert.equal(parseForm(schema, { a: '' }), { ok: false, errors: { a: 'errors.customer_required' } });
  assert.equal(parseForm(schema, { a: '2147483648', b: '2147483648', c: '2147483648' }), {
    ok: false,
    errors: { a: 'errors.customer_required', b: 'errors.invalid', c: 'errors.invalid' },
  });
});

rules.run();

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; kalle: User; admin: TestClient };
const http = suite('Odd form input answers 4xx with a reason, and one-line fields are stored as one line');

http.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'admin');
  const customer = await createCustomer(ctx.db, { number: 'K1001', name: 'Acme AB', email_domains: ['acme.se'] });
  await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id);
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('kalle');
});
http.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

// A form post with fields in order, a name possibly more than once.
const post = (url: string, pairs: [string, string][]) =>
  ctx.admin.request({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: urlencoded([['_csrf', ctx.admin.csrf], ...pairs]),
  });

async function caseForm() {
  const [status, type] = await Promise.all([
    ctx.db.selectFrom('case_statuses').select('id').where('kind', '=', 'open').executeTakeFirstOrThrow(),
    ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow(),
  ]);
  return [
    ['responsible_id', String(ctx.kalle.id)],
    ['status_id', String(status.id)],
    ['case_type_id', String(type.id)],
    ['body_html', '<div>Det låter konstigt.</div>'],
  ] as [string, string][];
}

http(
  'a repeated field in new case, case header, saved views, number series or canned replies: 422, saying so',
  async () => {
    const kase = await ctx.db.selectFrom('cases').select(['number', 'version']).executeTakeFirstOrThrow();
    await ctx.admin.get('/cases/new');
    const attempts: [string, [string, string][]][] = [
      ['/cases', [['title', 'Ny'], ['customer', 'K1001'], ['customer', 'K1001'], ...(await caseForm())]],
      [
        `/cases/${kase.number}/header`,
        [
          ['title', 'Ny'],
          ['customer', 'K1001'],
          ['customer', 'K1002'],
          ['version', String(kase.version)],
          ...(await caseForm()),
        ],
      ],
      [
        '/cases/views',
        [
          ['name', 'Mina'],
          ['name', 'Dina'],
          ['query', 'kind=all'],
        ],
      ],
      [
        '/admin/number-series',
        [
          ['name', 'Serie'],
          ['prefix', 'A'],
          ['prefix', 'B'],
          ['next_number', '1'],
          ['digits', '5'],
          ['purpose', 'cases'],
        ],
      ],
      [
        '/admin/canned-replies',
        [
          ['title', 'Hej'],
          ['body_html', '<div>a</div>'],
          ['body_html', '<div>b</div>'],
        ],
      ],
      [
        '/admin/approval-structures',
        [
          ['name', 'A'],
          ['name', 'B'],
          ['step_count', '1'],
          ['step_0', String(ctx.kalle.id)],
        ],
      ],
    ];
    for (const [url, pairs] of attempts) {
      const res = await post(url, pairs);
      assert.is(res.statusCode, 422, `${url}: ${res.body.slice(0, 200)}`);
      assert.match(res.body, sv['errors.repeated'], url);
    }
    const cases = await ctx.db.selectFrom('cases').select('id').execute();
    assert.is(cases.length, 1, 'no case was made');
  },
);

http('a repeated field in a picker or a list query: 422, saying so', async () => {
  for (const url of [
    '/cases/pickers/customers?customer=K1&customer=K2',
    '/cases?q=a&q=b',
    '/admin/users?inactive=1&inactive=1',
  ]) {
    const res = await ctx.admin.get(url, { headers: { accept: 'text/html' } });
    assert.is(res.statusCode, 422, url);
    assert.match(res.body, sv['errors.repeated'], url);
  }
});

http('ids past the integer range in a path are not found', async () => {
  for (const url of [
    '/admin/users/99999999999',
    '/customers/2147483648',
    '/documents/99999999999999999999',
    '/kontroll/runs/99999999999999999999',
  ]) {
    assert.is((await ctx.admin.get(url)).statusCode, 404, url);
  }
});

http('a JSON body, which no form sends, is refused', async () => {
  const res = await ctx.admin.request({
    method: 'POST',
    url: '/cases/views',
    headers: { 'content-type': 'application/json', 'x-csrf-token': ctx.admin.csrf },
    payload: JSON.stringify({ name: { a: 1 }, query: ['x'] }),
  });
  assert.is(res.statusCode, 415);
});

http('line breaks and control characters in titles and names are stored as one line', async () => {
  await ctx.admin.get('/cases/new');
  const created = await post('/cases', [
    ['title', ' Skrivaren\r\nfastnar\t igen '],
    ['customer', 'K1001'],
    ...(await caseForm()),
  ]);
  assert.is(created.statusCode, 303, created.body);
  const kase = await ctx.db
    .selectFrom('cases')
    .select(['title', 'number'])
    .where('number', '=', String(created.headers.location).split('/').pop() as string)
    .executeTakeFirstOrThrow();
  assert.is(kase.title, 'Skrivaren fastnar igen');

  assert.is(
    (
      await post('/admin/customers', [
        ['number', 'K2001\n'],
        ['name', 'Beta\r\nAB'],
        ['email_domains', ''],
      ])
    ).statusCode,
    303,
  );
  const customer = await ctx.db
    .selectFrom('customers')
    .select(['number', 'name'])
    .where('number', '=', 'K2001')
    .executeTakeFirst();
  assert.equal(customer, { number: 'K2001', name: 'Beta AB' });

  assert.is(
    (
      await post('/cases/views', [
        ['name', 'Mina\r\nöppna'],
        ['query', 'kind=all'],
      ])
    ).statusCode,
    303,
  );
  const view = await ctx.db.selectFrom('saved_views').select('name').executeTakeFirstOrThrow();
  assert.is(view.name, 'Mina öppna');

  assert.is(
    (
      await post('/projects', [
        ['number', ''],
        ['name', 'Flytt\u2028av\u0000kontoret'],
        ['customer', ''],
        ['responsible_id', ''],
      ])
    ).statusCode,
    303,
  );
  const project = await ctx.db.selectFrom('projects').select('name').executeTakeFirstOrThrow();
  assert.is(project.name, 'Flytt av kontoret');
});

http('a multi-line field keeps its lines and loses NUL: the internal note', async () => {
  const kase = await ctx.db.selectFrom('cases').select(['number', 'internal_note_version']).executeTakeFirstOrThrow();
  const res = await post(`/cases/${kase.number}/internal`, [
    ['internal_note', 'Rad ett\r\nRad två\u0000\n\tindrag'],
    ['internal_note_version', String(kase.internal_note_version)],
  ]);
  assert.is(res.statusCode, 303, res.body);
  const note = await ctx.db
    .selectFrom('cases')
    .select('internal_note')
    .where('number', '=', kase.number)
    .executeTakeFirstOrThrow();
  assert.is(note.internal_note, 'Rad ett\nRad två\n\tindrag');
});

http.run();
