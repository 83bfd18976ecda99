import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { addStaffReply } from '../threads/threads.ts';

// Splitting a case over HTTP (issue 18, part 5): the chosen entries move to a new case for the
// same customer, linked to the old one, both histories say so, a second click makes no second
// case, and a split that would move nothing or everything is refused.
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  client: TestClient;
  customerId: number;
  contactId: number;
};
const test = suite('Splitting a case');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.customerId = customer.id;
  ctx.contactId = contact.id;
  ctx.client = new TestClient(ctx.app);
  await ctx.client.login('kalle');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

async function caseWithThread(): Promise<{ kase: Case; entryIds: string[] }> {
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, ctx.contactId, {
    title: 'Skrivaren och fakturan',
  });
  await addStaffReply(
    ctx.db,
    kase.id,
    { body_html: '<div>Om skrivaren: starta om den.</div>', delivery: 'saved' },
    ctx.kalle,
  );
  await addStaffReply(
    ctx.db,
    kase.id,
    { body_html: '<div>Om fakturan: vi krediterar den.</div>', delivery: 'saved' },
    ctx.kalle,
  );
  const entries = await ctx.db
    .selectFrom('thread_entries')
    .select('id')
    .where('case_id', '=', kase.id)
    .orderBy('id')
    .execute();
  return { kase, entryIds: entries.map((e) => String(e.id)) };
}
const split = (kase: Case, fields: [string, string][]) =>
  ctx.client.request({
    method: 'POST',
    url: `/cases/${kase.number}/split`,
    payload: new URLSearchParams([['_csrf', ctx.client.csrf], ...fields]).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

test('the chosen entry moves to a new case for the same customer, linked, both histories telling, once', async () => {
  const { kase, entryIds } = await caseWithThread();
  const page = await ctx.client.get(`/cases/${kase.number}/split`);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Om fakturan: vi krediterar den.');
  const invoice = entryIds[2] as string;
  const form: [string, string][] = [
    ['entry', invoice],
    ['title', 'Fakturan'],
    ['form_key', 'split-form-key-00000001'],
  ];
  const res = await split(kase, form);
  assert.is(res.statusCode, 303, res.body);
  const again = await split(kase, form);
  assert.is(again.headers.location, res.headers.location, 'the second click gets the same new case');
  const number = String(res.headers.location).replace('/cases/', '');
  const created = await ctx.db.selectFrom('cases').selectAll().where('number', '=', number).executeTakeFirstOrThrow();
  assert.is(created.title, 'Fakturan');
  assert.is(created.customer_id, ctx.customerId);
  assert.is(created.contact_id, ctx.contactId);
  const count = await ctx.db.selectFrom('cases').select('id').where('title', '=', 'Fakturan').execute();
  assert.is(count.length, 1, 'one new case');

  const newPage = await ctx.client.get(`/cases/${number}`);
  assert.match(newPage.body, `De valda meddelandena i ${kase.number} är nu ärende ${number}.`);
  assert.match(newPage.body, 'Om fakturan: vi krediterar den.');
  assert.match(newPage.body, `från ärende ${kase.number}`);
  assert.match(newPage.body, `href="/cases/${kase.number}"`, 'linked to the old case');
  const oldPage = await ctx.client.get(`/cases/${kase.number}`);
  assert.not.match(oldPage.body, 'Om fakturan: vi krediterar den.');
  assert.match(oldPage.body, 'Om skrivaren: starta om den.');
  const oldHistory = await ctx.client.get(`/cases/${kase.number}/history`);
  assert.match(oldHistory.body, 'Meddelanden flyttade till ett nytt ärende');
  assert.match(oldHistory.body, `href="/cases/${number}"`);
  const newHistory = await ctx.client.get(`/cases/${number}/history`);
  assert.match(newHistory.body, 'Uppdelat från ärende');
  // found by the words that moved
  const search = await ctx.client.get(`/cases?resp=any&kind=all&q=krediterar`);
  assert.match(search.body, number);
});

test('nothing chosen, everything chosen, another case’s entry, a bad id, no title: refused, nothing moves', async () => {
  const { kase, entryIds } = await caseWithThread();
  const other = await caseWithThread();
  const refused = async (fields: [string, string][], text: string) => {
    const res = await split(kase, fields);
    assert.is(res.statusCode, 422, res.body.slice(0, 200));
    assert.match(res.body, text);
  };
  await refused([['title', 'Ny']], 'Markera minst ett meddelande att flytta.');
  await refused(
    [...entryIds.map((id): [string, string] => ['entry', id]), ['title', 'Ny']],
    'Lämna minst ett meddelande kvar i ärendet',
  );
  await refused(
    [
      ['entry', other.entryIds[1] as string],
      ['title', 'Ny'],
    ],
    'Ett valt meddelande finns inte längre i ärendet',
  );
  const bad = await split(kase, [
    ['entry', 'abc'],
    ['title', 'Ny'],
  ]);
  assert.is(bad.statusCode, 422);
  const noTitle = await split(kase, [
    ['entry', entryIds[1] as string],
    ['title', ''],
  ]);
  assert.is(noTitle.statusCode, 422);
  const still = await ctx.db.selectFrom('thread_entries').select('id').where('case_id', '=', kase.id).execute();
  assert.is(still.length, entryIds.length);
});

test('a visitor who is not signed in, a repeated CSRF field or a NUL in an entry id splits nothing', async () => {
  const { kase, entryIds } = await caseWithThread();
  const stranger = new TestClient(ctx.app);
  const anonymous = await stranger.post(`/cases/${kase.number}/split`, { entry: entryIds[1] as string, title: 'Ny' });
  assert.is(anonymous.statusCode, 401);
  const forged = await split(kase, [
    ['_csrf', ''],
    ['entry', entryIds[1] as string],
    ['title', 'Ny'],
  ]);
  assert.ok(forged.statusCode >= 400 && forged.statusCode < 500, String(forged.statusCode));
  const nul = await split(kase, [
    ['entry', `${entryIds[1]}\u0000`],
    ['title', 'Ny'],
  ]);
  assert.ok(nul.statusCode >= 400 && nul.statusCode < 500, String(nul.statusCode));
  const still = await ctx.db.selectFrom('thread_entries').select('id').where('case_id', '=', kase.id).execute();
  assert.is(still.length, entryIds.length);
});

test.run();
