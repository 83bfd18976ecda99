import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { verifyPassword } from './password.ts';
import { findUserByLogin } from './queries.ts';
import { ensureAdminUser } from './users.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; admin: TestClient };
const test = suite('User administration');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  await seedUser(ctx.db, 'BOSS', 'admin');
  await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('boss');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('an agent gets 403 on every administration URL, GET or POST', async () => {
  const agent = new TestClient(ctx.app);
  await agent.login('kalle');
  for (const url of [
    '/admin',
    '/admin/users',
    '/admin/users/new',
    '/admin/users/1',
    '/admin/customers',
    '/admin/statuses',
    '/admin/no-such-page',
  ]) {
    assert.is((await agent.get(url)).statusCode, 403, url);
  }
  await agent.get('/cases');
  const post = await agent.post('/admin/users', {
    login: 'HACK',
    name: 'Hack',
    role: 'admin',
    password: 'x'.repeat(12),
  });
  assert.is(post.statusCode, 403);
  assert.is(await findUserByLogin(ctx.db, 'HACK'), undefined);
  assert.not.match((await agent.get('/cases')).body, 'href="/admin"', 'agents do not see the Administration link');
});

test('an admin creates a user who can then log in with the user ID in any case', async () => {
  await ctx.admin.get('/admin/users/new');
  const res = await ctx.admin.post('/admin/users', {
    login: 'anna',
    name: 'Anna Öberg',
    initials: '',
    email: 'anna@example.se',
    role: 'agent',
    language: 'en',
    password: 'a-long-password',
  });
  assert.is(res.statusCode, 303);
  const anna = await findUserByLogin(ctx.db, 'ANNA');
  assert.ok(anna);
  assert.is(anna.initials, 'AÖ');
  assert.is(anna.language, 'en');
  assert.ok(anna.password_hash?.startsWith('scrypt$'), 'the password is stored hashed');
  const client = new TestClient(ctx.app);
  assert.is((await client.login('Anna', 'a-long-password')).statusCode, 303);
  const home = await client.get('/cases');
  assert.match(home.body, '>Cases<', 'her language setting picks English');
});

test('invalid fields are named beside the fields and what was typed is kept', async () => {
  await ctx.admin.get('/admin/users/new');
  const res = await ctx.admin.post('/admin/users', {
    login: 'kalle',
    name: '',
    email: 'not-an-address',
    role: 'agent',
    password: 'short',
  });
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Måste fyllas i.');
  assert.match(res.body, 'Inte en giltig e-postadress.');
  assert.match(res.body, 'value="not-an-address"');
  const dup = await ctx.admin.post('/admin/users', {
    login: 'Kalle',
    name: 'Kalle Två',
    role: 'agent',
    password: 'long-enough-pw',
  });
  assert.is(dup.statusCode, 422);
  assert.match(
    dup.body,
    'Användar-ID:t används redan.',
    dup.body.slice(dup.body.indexOf('<main'), dup.body.indexOf('<main') + 1500),
  );
  assert.match(dup.body, 'value="Kalle Två"');
});

test('an admin sets a password and deactivates a user', async () => {
  const kalle = await findUserByLogin(ctx.db, 'KALLE');
  assert.ok(kalle);
  await ctx.admin.get(`/admin/users/${kalle.id}`);
  assert.is(
    (await ctx.admin.post(`/admin/users/${kalle.id}/password`, { password: 'brand-new-password' })).statusCode,
    303,
  );
  const after = await findUserByLogin(ctx.db, 'KALLE');
  assert.ok(after?.password_hash && (await verifyPassword('brand-new-password', after.password_hash)));
  assert.is((await ctx.admin.post(`/admin/users/${kalle.id}/activation`, { active: '0' })).statusCode, 303);
  assert.is((await findUserByLogin(ctx.db, 'KALLE'))?.active, false);
  const list = await ctx.admin.get('/admin/users');
  assert.not.match(list.body, '>KALLE<', 'inactive users are hidden by default');
  assert.match((await ctx.admin.get('/admin/users?inactive=1')).body, '>KALLE<');
});

async function loggedIn(login: string, password?: string): Promise<TestClient> {
  const client = new TestClient(ctx.app);
  assert.is((await client.login(login, password)).statusCode, 303);
  assert.is((await client.get('/cases')).statusCode, 200);
  return client;
}

async function isSentToLogin(client: TestClient): Promise<boolean> {
  const res = await client.get('/cases');
  return res.statusCode === 303 && res.headers.location === '/login?next=%2Fcases';
}

const sessionRowsOf = (userId: number) =>
  ctx.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).execute();

test('a password reset by an admin ends every session of that user', async () => {
  const user = await seedUser(ctx.db, 'RESET', 'agent');
  const desk = await loggedIn('reset');
  const phone = await loggedIn('reset');
  await ctx.admin.get(`/admin/users/${user.id}`);
  const res = await ctx.admin.post(`/admin/users/${user.id}/password`, { password: 'reset-by-the-admin' });
  assert.is(res.statusCode, 303);
  assert.ok(await isSentToLogin(desk), 'the desk is sent to the login page');
  assert.ok(await isSentToLogin(phone), 'and so is the phone');
  assert.is((await sessionRowsOf(user.id)).length, 0);
  assert.is((await ctx.admin.get('/cases')).statusCode, 200, "the admin's own session goes on");
  await loggedIn('reset', 'reset-by-the-admin');
});

test('an admin who changes their own password stays logged in here and is logged out everywhere else', async () => {
  const me = await seedUser(ctx.db, 'SELF', 'admin');
  const here = await loggedIn('self');
  const elsewhere = await loggedIn('self');
  await here.get(`/admin/users/${me.id}`);
  const res = await here.post(`/admin/users/${me.id}/password`, { password: 'my-own-new-password' });
  assert.is(res.statusCode, 303);
  assert.ok(await isSentToLogin(elsewhere), 'the other client is sent to the login page');
  const page = await here.get(`/admin/users/${me.id}`);
  assert.is(page.statusCode, 200, 'this client goes on');
  assert.match(page.body, 'Lösenordet är ändrat.');
  assert.is((await here.get('/cases')).statusCode, 200);
  assert.is((await sessionRowsOf(me.id)).length, 1);
});

test('a session that a request in flight writes back after a password reset stays ended', async () => {
  const user = await seedUser(ctx.db, 'LATE', 'agent');
  const client = await loggedIn('late');
  // a request that read the session before the reset saves it after the rows were deleted
  const [row] = await sessionRowsOf(user.id);
  assert.ok(row);
  await ctx.admin.get(`/admin/users/${user.id}`);
  await ctx.admin.post(`/admin/users/${user.id}/password`, { password: 'reset-by-the-admin' });
  await ctx.db
    .insertInto('sessions')
    .values({ ...row, data: JSON.stringify(row.data) })
    .onConflict((oc) => oc.column('sid').doNothing())
    .execute();
  assert.ok(await isSentToLogin(client));
});

test('a session written back while its user was deactivated does not come back with reactivation', async () => {
  const user = await seedUser(ctx.db, 'AWAY', 'agent');
  const client = await loggedIn('away');
  const [row] = await sessionRowsOf(user.id);
  assert.ok(row);
  await ctx.admin.get(`/admin/users/${user.id}`);
  await ctx.admin.post(`/admin/users/${user.id}/activation`, { active: '0' });
  await ctx.db
    .insertInto('sessions')
    .values({ ...row, data: JSON.stringify(row.data) })
    .onConflict((oc) => oc.column('sid').doNothing())
    .execute();
  await ctx.admin.post(`/admin/users/${user.id}/activation`, { active: '1' });
  assert.ok(await isSentToLogin(client));
  await loggedIn('away');
});

test('ADMIN is created once, with the configured password, and left alone later', async () => {
  const first = await ensureAdminUser(ctx.db, 'configured-password');
  assert.equal(first, {});
  const admin = await findUserByLogin(ctx.db, 'admin');
  assert.ok(admin?.password_hash && (await verifyPassword('configured-password', admin.password_hash)));
  assert.is(admin.role, 'admin');
  assert.equal(await ensureAdminUser(ctx.db, 'other-password'), {});
  const again = await findUserByLogin(ctx.db, 'ADMIN');
  assert.ok(again?.password_hash && (await verifyPassword('configured-password', again.password_hash)));
});

test.run();
