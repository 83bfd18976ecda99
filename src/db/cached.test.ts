import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCaseFormOptions } from '../cases/queries.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { cachedRead } from './cached.ts';
import { changeFeedApplicationName } from './change-feed.ts';
import { changeFeedOf, createDb, type Db } from './database.ts';

// The register lists on every page are kept per process and must still be exactly what the
// database holds: changed here, by another instance, or by a hand-written UPDATE.
const ctx = {} as {
  db: Db;
  other: Db;
  url: string;
  app: FastifyInstance;
  drop: () => Promise<void>;
  admin: TestClient;
};
const test = suite('Cached register lists: kept per process, dropped on any change anywhere');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop });
  // another instance: its own pool and its own change feed on the same database
  ctx.other = createDb(t.url, 2);
  ctx.app = await buildTestApp(t.db);
  await seedUser(t.db, 'BOSS', 'admin');
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('boss');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.other.destroy();
  await ctx.drop();
});

const newCaseForm = () => ctx.admin.get('/cases/new').then((res) => res.body);
const statusOption = (name: string) => new RegExp(`<option value="\\d+"[^>]*>${name}</option>`);

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`${what} within 3 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the lists are read once and then served from memory while nothing changes', async () => {
  await newCaseForm();
  await waitFor(async () => changeFeedOf(ctx.db)?.connected === true, 'the change feed listens');
  const first = await loadCaseFormOptions(ctx.db, null);
  const again = await loadCaseFormOptions(ctx.db, null);
  assert.ok(first.statuses === again.statuses, 'the same list, not a new read');
  assert.throws(() => (first.statuses as unknown as unknown[]).push({}), 'a shared list cannot be changed by a caller');
});

test('a kind of value with a room keeps only its newest few, however many keys are asked for', async () => {
  await waitFor(async () => changeFeedOf(ctx.db)?.connected === true, 'the change feed listens');
  let loads = 0;
  const read = (key: string) =>
    cachedRead(ctx.db, `room-test:${key}`, ['cases'], async () => ({ key, load: ++loads }), {
      room: { name: 'room-test', size: 2 },
    });
  const a = await read('a');
  assert.is(await read('a'), a, 'kept');
  await read('b');
  await read('c');
  assert.is.not(await read('a'), a, 'the oldest made room and is read anew');
  assert.is(loads, 4);
  const c = await read('c');
  assert.is(loads, 4, 'the newest are still kept');
  assert.is(c.key, 'c');
});

test('a status added on the admin page of this instance is offered on the very next page', async () => {
  await newCaseForm();
  await ctx.admin.get('/admin/statuses/new');
  const res = await ctx.admin.post('/admin/statuses', { name: 'Hos leverantör', kind: 'open', position: '35' });
  assert.is(res.statusCode, 303, res.body);
  assert.match(await newCaseForm(), statusOption('Hos leverantör'));
});

test('a priority another instance adds, and a type changed by hand in SQL, show here within moments', async () => {
  assert.not.match(await newCaseForm(), 'Akut akut');
  await ctx.other.insertInto('priorities').values({ name: 'Akut akut', rank: 9 }).execute();
  await waitFor(async () => (await newCaseForm()).includes('Akut akut'), 'the other instance’s priority shows');
  const type = await ctx.db
    .selectFrom('case_types')
    .select(['id', 'name'])
    .where('active', '=', true)
    .executeTakeFirstOrThrow();
  assert.match(await newCaseForm(), type.name);
  await sql`update case_types set name = 'Omdöpt typ' where id = ${type.id}`.execute(ctx.other);
  await waitFor(async () => (await newCaseForm()).includes('Omdöpt typ'), 'the renamed type shows');
});

test('a user deactivated by another instance is no longer offered as responsible', async () => {
  const olle = await seedUser(ctx.db, 'OLLE', 'agent');
  await waitFor(async () => (await newCaseForm()).includes('(OLLE)'), 'a new user is offered');
  await ctx.other.updateTable('users').set({ active: false }).where('id', '=', olle.id).execute();
  await waitFor(async () => !(await newCaseForm()).includes('(OLLE)'), 'the deactivated user is gone');
});

test('while the change feed is cut off nothing is kept: every page reads the lists anew', async () => {
  await newCaseForm();
  await sql`select pg_terminate_backend(pid) from pg_stat_activity
            where datname = current_database() and application_name = ${changeFeedApplicationName}
              and pid <> pg_backend_pid()`.execute(ctx.other);
  await waitFor(async () => changeFeedOf(ctx.db)?.connected === false, 'the feed notices');
  const a = await loadCaseFormOptions(ctx.db, null);
  const b = await loadCaseFormOptions(ctx.db, null);
  assert.ok(a.statuses !== b.statuses, 'read anew each time');
  await waitFor(async () => changeFeedOf(ctx.db)?.connected === true, 'the feed listens again');
  const c = await loadCaseFormOptions(ctx.db, null);
  assert.ok(c.statuses === (await loadCaseFormOptions(ctx.db, null)).statuses, 'kept again once it listens');
});

test('a session ended on another instance (logged out there) stops working here within moments', async () => {
  const kalle = new TestClient(ctx.app);
  await seedUser(ctx.db, 'KALLE', 'agent');
  await kalle.login('kalle');
  assert.is((await kalle.get('/cases')).statusCode, 200);
  assert.is((await kalle.get('/cases')).statusCode, 200);
  await ctx.other
    .deleteFrom('sessions')
    .where('user_id', '=', sql<number>`(select id from users where login = 'KALLE')`)
    .execute();
  await waitFor(async () => (await kalle.get('/cases')).statusCode === 303, 'the ended session is refused');
});

test.run();
