import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';

// Two agents with the overview open on the same row: each picker sends what the row showed, and
// only a change to that same field since then is a conflict (issue 15, item 9).
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  ids: Record<string, number>;
  customerId: number;
};
const test = suite('Overview quick edits conflict per field');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db), ids: {} });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  await seedUser(ctx.db, 'ANNA');
  ctx.customerId = (await seedAcme(ctx.db)).customer.id;
  for (const table of ['case_statuses', 'case_types', 'priorities'] as const) {
    for (const s of await ctx.db.selectFrom(table).select(['id', 'name']).execute()) ctx.ids[s.name] = s.id;
  }
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const newCase = (title: string) =>
  seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, undefined, {
    title,
    priority_id: ctx.ids.Normal as number,
    body_html: '<div>Hej</div>',
  });

type Picker = { url: string; vals: Record<string, string> };

// An agent's overview as loaded: the row's pickers with what each will post (its hx-vals).
async function openOverview(login: string, caseId: number) {
  const client = new TestClient(ctx.app);
  await client.login(login);
  const page = await client.get('/cases?resp=any');
  const start = page.body.indexOf(`<tr id="case-row-${caseId}"`);
  assert.ok(start >= 0, 'the row is on the overview');
  const row = page.body.slice(start, page.body.indexOf('</tr>', start));
  // public/row-pickers.js builds each picker from its cell: data-f names the field, data-o the
  // value shown, the row's data-v its version; it posts those to the case's quick-edit route
  const fields: Record<string, string> = { s: 'status_id', p: 'priority_id', t: 'case_type_id', r: 'responsible_id' };
  const version = /data-v="(\d+)"/.exec(row)?.[1];
  const number = /<a href="\/cases\/([^"]+)">/.exec(row)?.[1];
  assert.ok(version && number, 'the row carries its version and number');
  const pickers: Record<string, Picker> = {};
  for (const [, short, loaded] of row.matchAll(/<td data-f="(\w)" data-o="([^"]*)"/g)) {
    const field = fields[short as string] as string;
    pickers[field] = { url: `/cases/${number}/quick-edit`, vals: { field, version, loaded: loaded as string } };
  }
  const choose = (field: string, value: number) => {
    const picker = pickers[field];
    if (!picker) throw new Error(`no ${field} picker in the row`);
    return client.request({
      method: 'POST',
      url: picker.url,
      form: { ...picker.vals, value: String(value) },
      headers: { 'x-csrf-token': client.csrf },
      htmx: true,
    });
  };
  return { choose };
}

// The row's cell for a picker (s status, p priority) showing this stored value
const shows = (field: 's' | 'p', name: string) =>
  new RegExp(`<td data-f="${field}" data-o="${ctx.ids[name]}">${name}</td>`);

const stored = (id: number) =>
  ctx.db.selectFrom('cases').select(['status_id', 'priority_id']).where('id', '=', id).executeTakeFirstOrThrow();

test("after KALLE changed the priority, ANNA's status change from a page loaded before is saved", async () => {
  const kase = await newCase('Skrivaren piper');
  const anna = await openOverview('anna', kase.id);
  const kalle = await openOverview('kalle', kase.id);
  const byKalle = await kalle.choose('priority_id', ctx.ids.Hög as number);
  assert.is(byKalle.statusCode, 200, byKalle.body);
  const byAnna = await anna.choose('status_id', ctx.ids['Väntar på kund'] as number);
  assert.is(byAnna.statusCode, 200, byAnna.body);
  assert.match(byAnna.body, `${kase.number} sparat.`);
  assert.match(byAnna.body, shows('s', 'Väntar på kund'));
  assert.match(byAnna.body, shows('p', 'Hög'), "KALLE's priority is kept");
  assert.equal(await stored(kase.id), {
    status_id: ctx.ids['Väntar på kund'],
    priority_id: ctx.ids.Hög,
  });
});

test("after ANNA changed the status, KALLE's priority change from a page loaded before is saved", async () => {
  const kase = await newCase('Nätverket segt');
  const kalle = await openOverview('kalle', kase.id);
  const anna = await openOverview('anna', kase.id);
  assert.is((await anna.choose('status_id', ctx.ids['Väntar på kund'] as number)).statusCode, 200);
  const byKalle = await kalle.choose('priority_id', ctx.ids.Låg as number);
  assert.is(byKalle.statusCode, 200, byKalle.body);
  assert.equal(await stored(kase.id), { status_id: ctx.ids['Väntar på kund'], priority_id: ctx.ids.Låg });
});

test('a change to the same field since the page was loaded is still refused, with a message naming it', async () => {
  const kase = await newCase('Faktura fel');
  const anna = await openOverview('anna', kase.id);
  const kalle = await openOverview('kalle', kase.id);
  assert.is((await kalle.choose('status_id', ctx.ids['Väntar på kund'] as number)).statusCode, 200);
  const byAnna = await anna.choose('status_id', ctx.ids.Stängd as number);
  assert.is(byAnna.statusCode, 409);
  assert.match(byAnna.body, `${kase.number}: status har ändrats av någon annan sedan sidan laddades`);
  assert.match(byAnna.body, shows('s', 'Väntar på kund'), 'the stored value is back');
  assert.equal(await stored(kase.id), { status_id: ctx.ids['Väntar på kund'], priority_id: ctx.ids.Normal });

  // and the other way round: ANNA's priority, then KALLE's from before it
  const kalle2 = await openOverview('kalle', kase.id);
  assert.is((await anna.choose('priority_id', ctx.ids.Hög as number)).statusCode, 200);
  const byKalle = await kalle2.choose('priority_id', ctx.ids.Låg as number);
  assert.is(byKalle.statusCode, 409);
  assert.match(byKalle.body, `${kase.number}: prioritet har ändrats av någon annan`);
  assert.is((await stored(kase.id)).priority_id, ctx.ids.Hög);
});

test('the same choice sent twice from one row (a double click, a retried request) is saved once and both are answered as saved', async () => {
  const kase = await newCase('Dubbelklick');
  const kalle = await openOverview('kalle', kase.id);
  const [first, second] = await Promise.all([
    kalle.choose('priority_id', ctx.ids.Hög as number),
    kalle.choose('priority_id', ctx.ids.Hög as number),
  ]);
  for (const answer of [first, second]) {
    assert.is(answer?.statusCode, 200, answer?.body);
    assert.match(answer?.body ?? '', `${kase.number} sparat.`);
    assert.not.match(answer?.body ?? '', 'någon annan');
  }
  assert.is((await stored(kase.id)).priority_id, ctx.ids.Hög);
  const lines = await ctx.db
    .selectFrom('case_events')
    .select('new_value')
    .where('case_id', '=', kase.id)
    .where('field', '=', 'priority_id')
    .execute();
  assert.is(lines.length, 1, 'one history line');
});

test.run();
