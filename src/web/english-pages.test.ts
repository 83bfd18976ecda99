import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { seedDemoData } from '../demo/demo-data.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';

// Pages an English reader meets outside the overview: the seeded Swedish register names come
// in English, and labels a user (or a test) finds the controls by are unique on their page.
const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; eva: TestClient };
const test = suite('English pages: seeded names and unique labels');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedDemoData(t.db);
  await seedUser(t.db, 'EVA', 'admin', { language: 'en' });
  ctx.app = await buildTestApp(t.db);
  ctx.eva = new TestClient(ctx.app);
  await ctx.eva.login('eva');
});
test.after(async () => {
  await ctx.app?.close();
  await ctx.drop?.();
});

const labels = (html: string) => [...html.matchAll(/<label[^>]*>([^<]*)/g)].map((m) => (m[1] ?? '').trim());

test("the customer page lists its cases' statuses in English", async () => {
  const customer = await ctx.db
    .selectFrom('customers')
    .select('id')
    .where('number', '=', '10001')
    .executeTakeFirstOrThrow();
  const res = await ctx.eva.get(`/customers/${customer.id}`);
  assert.is(res.statusCode, 200);
  assert.match(res.body, '<td>Closed</td>');
  assert.not.match(res.body, '<td>Stängd</td>');
  assert.not.match(res.body, '<td>Öppen</td>');
});

test("a mailbox's default type, status and priority are offered in English", async () => {
  const res = await ctx.eva.get('/admin/mailboxes/new');
  assert.is(res.statusCode, 200);
  for (const name of ['Question', 'Open', 'Waiting for customer', 'High', 'Low'])
    assert.match(res.body, `>${name}</option>`);
  for (const name of ['Fråga', 'Öppen', 'Väntar på kund', 'Hög', 'Låg'])
    assert.not.match(res.body, `>${name}</option>`);
});

test('the approval structure form offers the General category in English', async () => {
  const res = await ctx.eva.get('/admin/approval-structures/new');
  assert.is(res.statusCode, 200);
  assert.match(res.body, />General<\/option>|>General </);
  assert.not.match(res.body, 'Allmänt');
});

test("the administration's register lists show the seeded names in English", async () => {
  const expected: Record<string, [string[], string[]]> = {
    '/admin/statuses': [
      ['Open', 'Waiting for customer', 'To work order', 'Closed'],
      ['Öppen', 'Väntar på kund', 'Stängd'],
    ],
    '/admin/case-types': [
      ['Question', 'Complaint', 'Document approval'],
      ['Fråga', 'Reklamation', 'Dokumentattest'],
    ],
    '/admin/priorities': [
      ['High', 'Low'],
      ['Hög', 'Låg'],
    ],
    '/admin/number-series': [
      ['Cases', 'Projects', 'Work orders'],
      ['Ärenden', 'Projekt', 'Arbetsordrar'],
    ],
    '/admin/document-categories': [['General'], ['Allmänt']],
  };
  for (const [url, [english, swedish]] of Object.entries(expected)) {
    const res = await ctx.eva.get(url);
    assert.is(res.statusCode, 200, url);
    for (const name of english) assert.match(res.body, new RegExp(`>${name}</a>`), `${url} shows ${name}`);
    for (const name of swedish) assert.not.match(res.body, `>${name}</a>`, `${url} does not show ${name}`);
  }
});

test('the internal note has its own save button, apart from the case header', async () => {
  const kase = await ctx.db.selectFrom('cases').select('number').orderBy('id').executeTakeFirstOrThrow();
  const res = await ctx.eva.get(`/cases/${kase.number}/internal`);
  assert.is(res.statusCode, 200);
  assert.is(res.body.match(/>Save note<\/button>/g)?.length, 1);
  assert.is(res.body.match(/>Save<\/button>/g)?.length, 1, 'the header keeps its Save');
});

test('the automatic e-mail settings are linked from Administration and every label is unique', async () => {
  const admin = await ctx.eva.get('/admin');
  assert.match(admin.body, '<a href="/admin/settings/kontroll">Automatic e-mails</a>');
  const res = await ctx.eva.get('/admin/settings/kontroll');
  assert.is(res.statusCode, 200);
  const found = labels(res.body);
  assert.ok(found.includes('Reminder e-mail subject (Swedish)'), found.join(' | '));
  assert.ok(found.includes('Closing e-mail text (English)'), found.join(' | '));
  const repeated = found.filter((label, i) => label && found.indexOf(label) !== i);
  assert.equal(repeated, [], 'labels used twice on the page');
});

test.run();
