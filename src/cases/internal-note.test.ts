import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { buildTestApp, formKeyIn, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; kase: Case };
const test = suite('Internal note and canned replies');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  const kalle = await seedUser(ctx.db, 'KALLE');
  await seedUser(ctx.db, 'ANNA');
  const { customer } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, kalle, customer.id);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('the internal note is saved, shown on its tab and recorded in the history', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const tab = await client.get(`/cases/${ctx.kase.number}/internal`);
  assert.match(tab.body, 'data-date-stamp="Kalle Testsson"', 'Ctrl+D knows whose name to insert');
  const res = await client.post(`/cases/${ctx.kase.number}/internal`, {
    internal_note: '2026-11-27 Kalle Testsson: kunden ringde <b>igen</b>',
    internal_note_version: '1',
  });
  assert.is(res.statusCode, 303);
  const page = await client.get(`/cases/${ctx.kase.number}/internal`);
  assert.match(page.body, 'kunden ringde &lt;b&gt;igen&lt;/b&gt;', 'plain text, escaped');
  const events = await ctx.db.selectFrom('case_events').select('kind').where('case_id', '=', ctx.kase.id).execute();
  assert.ok(events.some((e) => e.kind === 'internal_note_saved'));
});

test('a stale internal note is refused and both texts are shown', async () => {
  const anna = new TestClient(ctx.app);
  await anna.login('anna');
  await anna.get(`/cases/${ctx.kase.number}/internal`);
  const stale = await anna.post(`/cases/${ctx.kase.number}/internal`, {
    internal_note: 'Annas text',
    internal_note_version: '1',
  });
  assert.is(stale.statusCode, 409);
  assert.match(stale.body, 'Någon annan sparade anteckningen');
  assert.match(stale.body, 'Annas text');
  assert.match(stale.body, 'kunden ringde');
  const row = await ctx.db
    .selectFrom('cases')
    .select('internal_note')
    .where('id', '=', ctx.kase.id)
    .executeTakeFirstOrThrow();
  assert.match(row.internal_note, 'kunden ringde');
  const retry = await anna.post(`/cases/${ctx.kase.number}/internal`, {
    internal_note: 'Annas text',
    internal_note_version: '2',
  });
  assert.is(retry.statusCode, 303);
});

test('the same note form sent twice, in a row or at once, saves once and is never refused as stale', async () => {
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const url = `/cases/${ctx.kase.number}/internal`;
  const saves = async () =>
    (
      await ctx.db
        .selectFrom('case_events')
        .select('id')
        .where('case_id', '=', ctx.kase.id)
        .where('kind', '=', 'internal_note_saved')
        .execute()
    ).length;
  const formFrom = async (text: string) => {
    const page = await client.get(url);
    const version = /name="internal_note_version" value="(\d+)"/.exec(page.body)?.[1] ?? '';
    return { form_key: formKeyIn(page.body), internal_note_version: version, internal_note: text };
  };
  const before = await saves();

  const form = await formFrom('Ringde kunden, inget svar.');
  const answers = [await client.post(url, form), await client.post(url, form)];
  assert.equal(
    answers.map((a) => [a.statusCode, a.headers.location]),
    [
      [303, url],
      [303, url],
    ],
  );
  assert.is(await saves(), before + 1);

  const atOnce = await formFrom('Ringde igen.');
  const racing = await Promise.all([client.post(url, atOnce), client.post(url, atOnce)]);
  assert.equal(
    racing.map((a) => a.statusCode),
    [303, 303],
  );
  assert.is(await saves(), before + 2);
  const page = await client.get(url);
  assert.match(page.body, 'Ringde igen.');
  assert.not.match(page.body, 'Någon annan sparade anteckningen');
});

test('the thread offers canned replies and serves their sanitised text', async () => {
  const inserted = await ctx.db
    .insertInto('canned_replies')
    .values({ title: 'Tack', body_html: '<div>Tack för ditt mejl!<script>alert(1)</script></div>' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('canned_replies')
    .values({ title: 'Gammal', body_html: '<div>x</div>', active: false })
    .execute();
  const client = new TestClient(ctx.app);
  await client.login('kalle');
  const page = await client.get(`/cases/${ctx.kase.number}`);
  assert.match(page.body, '<label for="canned-reply">Svarstext</label>');
  assert.match(page.body, `<option value="${inserted.id}">Tack</option>`);
  assert.not.match(page.body, '>Gammal<', 'inactive canned replies are not offered');
  const html = await client.get(`/canned-replies/${inserted.id}`);
  assert.is(html.statusCode, 200);
  assert.match(html.body, 'Tack för ditt mejl!');
  assert.not.match(html.body, '<script');
  assert.is((await client.get('/canned-replies/999999')).statusCode, 404);
});

test.run();
