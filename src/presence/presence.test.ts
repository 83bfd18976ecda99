import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';

// Presence on the case page over HTTP (issue 18, part 1): a heartbeat puts the user on the
// case, the others' poll shows them ("Också här", "skriver ett svar…"), a stale heartbeat or
// leaving takes them off, and none of it is history.
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  kalleClient: TestClient;
  annaClient: TestClient;
  bertilClient: TestClient;
  kase: Case;
};
const test = suite('Who else has the case open, and who is writing a reply');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE', 'agent', { language: 'sv' });
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent', { language: 'sv' });
  await seedUser(ctx.db, 'BERTIL', 'agent', { language: 'en' });
  const { customer } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id);
  ctx.kalleClient = new TestClient(ctx.app);
  await ctx.kalleClient.login('KALLE');
  ctx.annaClient = new TestClient(ctx.app);
  await ctx.annaClient.login('ANNA');
  ctx.bertilClient = new TestClient(ctx.app);
  await ctx.bertilClient.login('BERTIL');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const url = (kase = ctx.kase) => `/cases/${kase.number}/presence`;
// A heartbeat as public/presence.js sends it: the token in the header, the typing flag in the body.
const heartbeat = (client: TestClient, typing = '', kase = ctx.kase, page = 'page-one-1234') =>
  client.request({
    method: 'POST',
    url: url(kase),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': client.csrf },
    payload: new URLSearchParams({ typing, page }).toString(),
  });
// What the case page's poll brings in.
async function presenceSeenBy(client: TestClient, kase = ctx.kase): Promise<string> {
  const res = await client.get(url(kase), { htmx: true });
  assert.is(res.statusCode, 200, res.body);
  assert.is(res.headers['cache-control'], 'no-store');
  return res.body.replace(/\s+/g, ' ').trim();
}
const clear = () => ctx.db.deleteFrom('case_viewers').execute();

test('the case page has the presence box, polled each second, and its script', async () => {
  const page = await ctx.kalleClient.get(`/cases/${ctx.kase.number}`);
  assert.match(page.body, `hx-get="/cases/${ctx.kase.number}/presence" hx-trigger="load, every 1s"`);
  assert.match(page.body, `data-presence="/cases/${ctx.kase.number}/presence"`);
  assert.match(page.body, /src="\/static\/presence\.js[^"]*"/);
  const script = await ctx.kalleClient.get('/static/presence.js');
  assert.is(script.statusCode, 200);
});

test('nobody else here: the box is empty', async () => {
  await clear();
  assert.is((await heartbeat(ctx.kalleClient)).statusCode, 204);
  assert.is(await presenceSeenBy(ctx.kalleClient), '', 'the user is not shown to themself');
});

test('a colleague’s heartbeat shows her to the others, not to herself', async () => {
  await clear();
  const res = await heartbeat(ctx.annaClient);
  assert.is(res.statusCode, 204, res.body);
  assert.is(await presenceSeenBy(ctx.kalleClient), '<p class="presence-here">Också här: Anna Testsson</p>');
  assert.is(await presenceSeenBy(ctx.annaClient), '');
  await heartbeat(ctx.kalleClient);
  assert.is(await presenceSeenBy(ctx.annaClient), '<p class="presence-here">Också här: Kalle Testsson</p>');
  assert.match(await presenceSeenBy(ctx.bertilClient), 'Also here: Anna Testsson, Kalle Testsson');
});

test('a second app instance on the same database sees who is on the case through the first', async () => {
  await clear();
  const other = await buildTestApp(ctx.db);
  try {
    const kalleThere = new TestClient(other);
    await kalleThere.login('KALLE');
    await heartbeat(ctx.annaClient, '1');
    const seen = await presenceSeenBy(kalleThere);
    assert.match(seen, 'Också här: Anna Testsson');
    assert.match(seen, 'Anna Testsson skriver ett svar…');
  } finally {
    await other.close();
  }
});

test('typing in the reply box shows "is writing a reply", and stopping takes it away', async () => {
  await clear();
  await heartbeat(ctx.annaClient, '1');
  assert.match(await presenceSeenBy(ctx.kalleClient), 'Anna Testsson skriver ett svar…');
  assert.match(await presenceSeenBy(ctx.bertilClient), 'Anna Testsson is writing a reply…');
  await heartbeat(ctx.kalleClient, '1');
  assert.match(await presenceSeenBy(ctx.bertilClient), 'Anna Testsson, Kalle Testsson are writing replies…');
  await heartbeat(ctx.annaClient, '');
  const seen = await presenceSeenBy(ctx.kalleClient);
  assert.match(seen, 'Också här: Anna Testsson');
  assert.not.match(seen, 'skriver');
});

test('a heartbeat older than 30 s counts for nothing', async () => {
  await clear();
  await heartbeat(ctx.annaClient, '1');
  await sql`update case_viewers set seen_at = now() - interval '31 seconds'`.execute(ctx.db);
  assert.is(await presenceSeenBy(ctx.kalleClient), '');
  // the next heartbeat puts her back
  await heartbeat(ctx.annaClient);
  assert.match(await presenceSeenBy(ctx.kalleClient), 'Anna Testsson');
});

test('leaving the page (the beacon, token in the body) takes the user off at once', async () => {
  await clear();
  await heartbeat(ctx.annaClient);
  const left = await ctx.annaClient.post(`${url()}/removal`);
  assert.is(left.statusCode, 204, left.body);
  assert.is(await presenceSeenBy(ctx.kalleClient), '');
  // leaving twice is no error
  assert.is((await ctx.annaClient.post(`${url()}/removal`)).statusCode, 204);
});

test('a page’s beacon that comes after the next page’s heartbeat (a reply sent reloads the page) leaves her on', async () => {
  await clear();
  await heartbeat(ctx.annaClient, '', ctx.kase, 'old-page-1234');
  await heartbeat(ctx.annaClient, '', ctx.kase, 'new-page-5678');
  const late = await ctx.annaClient.post(`${url()}/removal`, { page: 'old-page-1234' });
  assert.is(late.statusCode, 204);
  assert.match(await presenceSeenBy(ctx.kalleClient), 'Också här: Anna Testsson');
  // the page she has open now leaving takes her off
  assert.is((await ctx.annaClient.post(`${url()}/removal`, { page: 'new-page-5678' })).statusCode, 204);
  assert.is(await presenceSeenBy(ctx.kalleClient), '');
});

test('rows other users left long ago are cleared by a heartbeat on the case, fresh ones are kept', async () => {
  await clear();
  await heartbeat(ctx.annaClient);
  await heartbeat(ctx.bertilClient);
  await sql`update case_viewers set seen_at = now() - interval '11 minutes' where user_id = ${ctx.anna.id}`.execute(
    ctx.db,
  );
  await heartbeat(ctx.kalleClient);
  const rows = await ctx.db.selectFrom('case_viewers').select('user_id').orderBy('user_id').execute();
  assert.is(rows.length, 2);
  assert.not.ok(rows.some((r) => r.user_id === ctx.anna.id));
});

test('a heartbeat writes no history, no notification and does not change the case', async () => {
  await clear();
  const count = async () => {
    const { rows } = await sql<{ events: string; notes: string; version: number }>`
      select (select count(*) from case_events) as events, (select count(*) from notifications) as notes,
             (select version from cases where id = ${ctx.kase.id}) as version`.execute(ctx.db);
    return rows[0];
  };
  const before = await count();
  await heartbeat(ctx.annaClient, '1');
  await heartbeat(ctx.annaClient, '');
  await ctx.annaClient.post(`${url()}/removal`);
  assert.equal(await count(), before);
});

test('rights: signed-out is refused, an unknown case is 404, and nothing is stored', async () => {
  await clear();
  const stranger = new TestClient(ctx.app);
  await stranger.get('/login');
  const res = await heartbeat(stranger);
  assert.is(res.statusCode, 401);
  const poll = await stranger.get(url(), { htmx: true });
  assert.is(poll.statusCode, 401);
  assert.match(String(poll.headers['hx-redirect']), /^\/login/);
  const missing = { ...ctx.kase, number: 'X999999' };
  assert.is((await heartbeat(ctx.annaClient, '', missing)).statusCode, 404);
  assert.is((await ctx.annaClient.get(url(missing), { htmx: true })).statusCode, 404);
  assert.is((await ctx.annaClient.post(`${url(missing)}/removal`)).statusCode, 404);
  assert.equal(await ctx.db.selectFrom('case_viewers').selectAll().execute(), []);
});

test('hostile heartbeats: no CSRF token, a repeated or odd typing field are refused with a 4xx', async () => {
  await clear();
  const noToken = await ctx.annaClient.request({
    method: 'POST',
    url: url(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'typing=1',
  });
  assert.is(noToken.statusCode, 403);
  const noTokenLeave = await ctx.annaClient.post(`${url()}/removal`, { _csrf: '' });
  assert.is(noTokenLeave.statusCode, 403);
  const oddLeave = await ctx.annaClient.post(`${url()}/removal`, { page: '../../etc' });
  assert.is(oddLeave.statusCode, 422);
  const hostile = [
    'typing=1&typing=',
    'typing=yes',
    'typing=1%00',
    'page=a&page=b',
    'page=%3Cscript%3E',
    'page=x%00yzabcdef',
  ];
  for (const payload of hostile) {
    const res = await ctx.annaClient.request({
      method: 'POST',
      url: url(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': ctx.annaClient.csrf },
      payload,
    });
    assert.is(res.statusCode, 422, payload);
  }
  assert.equal(await ctx.db.selectFrom('case_viewers').selectAll().execute(), []);
});

test('the presence URL as a whole page says who is here, or that nobody else is', async () => {
  await clear();
  const empty = await ctx.kalleClient.get(url());
  assert.is(empty.statusCode, 200);
  assert.match(empty.body, 'Ingen annan har ärendet öppet.');
  await heartbeat(ctx.annaClient);
  const page = await ctx.kalleClient.get(url());
  assert.match(page.body, '<h1>Vem är här</h1>');
  assert.match(page.body, 'Också här: Anna Testsson');
  assert.match(page.body, `href="/cases/${ctx.kase.number}"`);
});

test.run();
