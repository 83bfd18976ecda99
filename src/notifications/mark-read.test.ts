import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { notifyUser, notifyUsers, unreadShownUpTo } from './notifications.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; app: FastifyInstance; kalle: User; anna: User; kase: Case };
const test = suite('Marking notifications read, one at a time or all at once');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.app = await buildTestApp(ctx.db);
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent', { language: 'en' });
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, contact.id);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

async function loggedIn(login: string): Promise<TestClient> {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
}

async function ring(user: User, times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) {
    await notifyUser(
      ctx.db,
      {
        userId: user.id,
        actorId: null,
        kind: 'assigned',
        caseId: ctx.kase.id,
        summary: `${ctx.kase.number} ${i}`,
        link: `/cases/${ctx.kase.number}`,
      },
      { config: undefined },
    );
  }
}

const unreadOf = async (user: User) =>
  (
    await ctx.db
      .selectFrom('notifications')
      .select('id')
      .where('user_id', '=', user.id)
      .where('read_at', 'is', null)
      .execute()
  ).length;

const readTimesOf = async (user: User) =>
  (
    await ctx.db
      .selectFrom('notifications')
      .select(['id', 'read_at'])
      .where('user_id', '=', user.id)
      .orderBy('id')
      .execute()
  ).map((n) => `${n.id}:${n.read_at?.toISOString() ?? 'unread'}`);

test('"Mark all as read" marks only the user’s own notifications, and the bell then shows none', async () => {
  await ring(ctx.kalle, 3);
  await ring(ctx.anna, 2);
  const kalle = await loggedIn('kalle');
  const page = await kalle.get('/notifications');
  assert.match(page.body, '<span class="badge">3</span>');
  assert.match(page.body, 'aria-label="Notiser (3 olästa notiser)"', 'the bell’s name says the count');
  assert.match(page.body, '>Markera alla som lästa</button>');
  assert.match(page.body, 'action="/notifications/read"');

  const res = await kalle.post('/notifications/read');
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/notifications');
  assert.is(await unreadOf(ctx.kalle), 0);
  assert.is(await unreadOf(ctx.anna), 2, 'ANNA’s bell is untouched');

  const after = await kalle.get('/notifications');
  assert.match(after.body, 'Alla notiser är markerade som lästa.');
  assert.not.match(after.body, 'class="badge"', 'the bell shows nothing unread');
  assert.match(after.body, 'class="bell" href="/notifications" aria-label="Notiser"');
  assert.not.match(after.body, 'Markera alla som lästa', 'nothing left to mark');
  assert.not.match(after.body, 'class="unread"');
  const cases = await kalle.get('/cases');
  assert.not.match(cases.body, 'class="badge"', 'the overview’s bell agrees');

  const anna = await loggedIn('anna');
  const annas = await anna.get('/notifications');
  assert.match(annas.body, '<span class="badge">2</span>');
  assert.match(annas.body, 'aria-label="Notifications (2 unread notifications)"');
  assert.match(annas.body, '>Mark all as read</button>', 'in the user’s language');
});

test('"Mark all as read" a second time is harmless: nothing changes, same answer', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/notifications');
  const before = await readTimesOf(ctx.kalle);
  const res = await kalle.post('/notifications/read');
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/notifications');
  assert.equal(await readTimesOf(ctx.kalle), before, 'the first read times are kept');
  assert.is(await unreadOf(ctx.anna), 2);
});

test('"Mark all as read" needs the form’s CSRF token', async () => {
  const anna = await loggedIn('anna');
  await anna.get('/notifications');
  const res = await anna.post('/notifications/read', { _csrf: '' });
  assert.is(res.statusCode, 403);
  const forged = await anna.post('/notifications/read', { _csrf: 'not-the-token' });
  assert.is(forged.statusCode, 403);
  assert.is(await unreadOf(ctx.anna), 2, 'nothing was marked');
  const visitor = new TestClient(ctx.app);
  await visitor.get('/login');
  const anonymous = await visitor.post('/notifications/read');
  assert.ok([302, 303, 401].includes(anonymous.statusCode), `a visitor is sent to log in (${anonymous.statusCode})`);
  assert.is(await unreadOf(ctx.anna), 2);
});

test('"Mark all as read" through htmx answers with HX-Redirect to the list', async () => {
  const anna = await loggedIn('anna');
  await anna.get('/notifications');
  const res = await anna.post('/notifications/read', {}, { htmx: true });
  assert.is(res.statusCode, 204);
  assert.is(res.headers['hx-redirect'], '/notifications');
  assert.is(await unreadOf(ctx.anna), 0);
});

test('opening one notification twice leads to it both times and keeps its first read time', async () => {
  await ring(ctx.kalle, 2);
  const kalle = await loggedIn('kalle');
  const page = await kalle.get('/notifications');
  assert.match(page.body, '<span class="badge">2</span>');
  const [newest] = await ctx.db
    .selectFrom('notifications')
    .select(['id', 'link'])
    .where('user_id', '=', ctx.kalle.id)
    .orderBy('id', 'desc')
    .limit(1)
    .execute();
  assert.ok(newest);
  assert.match(page.body, `action="/notifications/${newest.id}/read"`, 'the list’s entry is a form to open it');
  const first = await kalle.post(`/notifications/${newest.id}/read`);
  assert.is(first.statusCode, 303);
  assert.is(first.headers.location, newest.link);
  const readAt = await readTimesOf(ctx.kalle);
  const second = await kalle.post(`/notifications/${newest.id}/read`);
  assert.is(second.statusCode, 303);
  assert.is(second.headers.location, newest.link);
  assert.equal(await readTimesOf(ctx.kalle), readAt, 'the second click changed nothing');
  assert.is(await unreadOf(ctx.kalle), 1, 'the other one is still unread');
  const after = await kalle.get('/notifications');
  assert.match(after.body, '<span class="badge">1</span>');

  // ANNA cannot open KALLE's notification.
  const anna = await loggedIn('anna');
  assert.is((await anna.post(`/notifications/${newest.id}/read`)).statusCode, 404);
});

test('a bell past its count says so in its name too, and "Mark all as read" quiets it', async () => {
  const olle = await seedUser(ctx.db, 'OLLE');
  const one = {
    userId: olle.id,
    actorId: null,
    kind: 'assigned' as const,
    caseId: ctx.kase.id,
    summary: 'x',
    link: '/',
  };
  await notifyUsers(
    ctx.db,
    Array.from({ length: unreadShownUpTo + 20 }, () => one),
    { config: undefined },
  );
  const client = await loggedIn('olle');
  const page = await client.get('/notifications');
  assert.match(page.body, `<span class="badge">${unreadShownUpTo - 1}+</span>`);
  assert.match(page.body, `aria-label="Notiser (${unreadShownUpTo - 1}+ olästa notiser)"`);
  assert.is((await client.post('/notifications/read')).statusCode, 303);
  assert.is(await unreadOf(olle), 0, 'all of them, not only the 50 the list shows');
  assert.not.match((await client.get('/cases')).body, 'class="badge"');
});

test.run();
