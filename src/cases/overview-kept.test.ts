import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDb, type Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase, untilChangeFeedListens } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';

// The overview's rows and counts are kept in the process between loads (listOverviewKept,
// loadOverviewCountsKept). What a user sees must still be exactly what is stored the moment they
// ask: after a change made on another instance, by a job, or by hand in SQL, and after a service-level
// warning point passes with nobody writing anything.
const ctx = {} as { db: Db; other: Db; drop: () => Promise<void>; app: FastifyInstance; kalle: TestClient; kase: Case };
const test = suite('The kept overview: never older than the last committed change');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  // another instance: its own pool on the same database
  ctx.other = createDb(t.url, 2);
  ctx.app = await buildTestApp(t.db);
  const kalle = await seedUser(t.db, 'KALLE', 'agent');
  const { customer } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, kalle, customer.id);
  ctx.kalle = new TestClient(ctx.app);
  await ctx.kalle.login('kalle');
  await untilChangeFeedListens(t.db);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.other.destroy();
  await ctx.drop();
});

const overview = async (query = '') => {
  const res = await ctx.kalle.get(`/cases${query}`);
  assert.is(res.statusCode, 200, res.body);
  return res.body;
};
const tile = (html: string, key: string) => Number(new RegExp(`data-tile="${key}">(\\d+)<`).exec(html)?.[1]);

test('a title another instance writes shows on the very next load, every time', async () => {
  // each round: the page is kept, another instance commits a change, and the next load is asked
  // for at once, with no waiting for the change to be heard
  for (let round = 1; round <= 25; round++) {
    await overview();
    await sql`update cases set title = ${`Skrivaren, försök ${round}`}, version = version + 1
      where id = ${ctx.kase.id}`.execute(ctx.other);
    assert.match(await overview(), `Skrivaren, försök ${round}<`, `round ${round}`);
  }
});

test('the bell and the tiles count what another instance wrote a moment ago', async () => {
  const before = await overview();
  const mine = tile(before, 'mine');
  await sql`update cases set responsible_id = null, version = version + 1 where id = ${ctx.kase.id}`.execute(ctx.other);
  const after = await overview();
  assert.is(tile(after, 'mine'), mine - 1);
  assert.not.match(after, 'Skrivaren, försök 25<', 'the case left "my open cases"');
  await sql`insert into notifications (user_id, kind, case_id, summary, link)
    select id, 'assigned', ${ctx.kase.id}, 'Tilldelad', '/cases' from users where login = 'KALLE'`.execute(ctx.other);
  assert.match(await overview(), /class="badge">1</, 'the bell counts the new notification');
});

test('"SLA at risk" counts a warning point the moment it passes, though nobody wrote anything', async () => {
  const warnAt = new Date(Date.now() + 1_500);
  await sql`update cases set sla_warn_at = ${warnAt}, version = version + 1 where id = ${ctx.kase.id}`.execute(
    ctx.other,
  );
  const atRisk = '?resp=any&sla=at_risk';
  assert.is(tile(await overview(), 'sla_at_risk'), 0, 'not at risk yet');
  assert.not.match(await overview(atRisk), `/cases/${ctx.kase.number}"`);
  // both are kept now; the warning point passes with no write to tell anyone
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, warnAt.getTime() - Date.now()) + 50));
  assert.is(tile(await overview(), 'sla_at_risk'), 1, 'at risk once the point passed');
  assert.match(await overview(atRisk), `/cases/${ctx.kase.number}"`);
});

test.run();
