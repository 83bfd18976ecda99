import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { FormError } from '../forms/form.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { findUserById } from './queries.ts';
import { adminLossRefusal, setUserActive, type UserInput, updateUser } from './users.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; boss: User; admin: TestClient };
const test = suite('There is always an active admin');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.boss = await seedUser(ctx.db, 'BOSS', 'admin');
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('boss');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const formOf = (user: User, role: 'admin' | 'agent') => ({
  login: user.login,
  name: user.name,
  initials: user.initials,
  email: user.email ?? '',
  role,
  language: '',
});
const inputOf = (user: User, role: 'admin' | 'agent'): UserInput => ({
  login: user.login,
  name: user.name,
  initials: user.initials,
  email: user.email,
  role,
  language: null,
});
const activeAdmins = async () =>
  (
    await ctx.db
      .selectFrom('users')
      .select('login')
      .where('role', '=', 'admin')
      .where('active', '=', true)
      .orderBy('login')
      .execute()
  ).map((row) => row.login);

test('the rule: an active admin stops being one only when another stays, and never by their own hand', () => {
  assert.is(adminLossRefusal(1, [1]), 'last_admin');
  assert.is(adminLossRefusal(1, [1], 2), 'last_admin');
  assert.is(adminLossRefusal(1, [1, 2], 2), null);
  assert.is(adminLossRefusal(1, [1, 2]), null);
  assert.is(adminLossRefusal(1, [1, 2], 1), 'self');
  assert.is(adminLossRefusal(1, [1], 1), 'self');
  assert.is(adminLossRefusal(3, [1, 2], 1), null, 'an agent or an inactive admin is no loss');
});

test('the only admin who sets their own role to agent is refused beside the role and stays admin', async () => {
  await ctx.admin.get(`/admin/users/${ctx.boss.id}`);
  const res = await ctx.admin.post(`/admin/users/${ctx.boss.id}`, formOf(ctx.boss, 'agent'));
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Du kan inte ta bort din egen administratörsroll.');
  assert.not.match(res.body, 'Sparat.');
  assert.is((await findUserById(ctx.db, ctx.boss.id))?.role, 'admin');
});

test('an admin does not demote themself even when another admin stays, but may demote the other', async () => {
  const other = await seedUser(ctx.db, 'OTHER', 'admin');
  await ctx.admin.get(`/admin/users/${ctx.boss.id}`);
  const own = await ctx.admin.post(`/admin/users/${ctx.boss.id}`, formOf(ctx.boss, 'agent'));
  assert.is(own.statusCode, 422);
  assert.is((await findUserById(ctx.db, ctx.boss.id))?.role, 'admin');
  await ctx.admin.get(`/admin/users/${other.id}`);
  assert.is((await ctx.admin.post(`/admin/users/${other.id}`, formOf(other, 'agent'))).statusCode, 303);
  assert.equal(await activeAdmins(), ['BOSS']);
});

test('the last active admin is neither demoted nor deactivated, whoever asks', async () => {
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: unknown) => (error instanceof FormError ? error.fields : error),
    );
  assert.equal(await refusal(updateUser(ctx.db, ctx.boss.id, inputOf(ctx.boss, 'agent'))), {
    role: 'users.last_admin',
  });
  assert.equal(await refusal(setUserActive(ctx.db, ctx.boss.id, false)), { active: 'users.last_admin' });
  assert.equal(await activeAdmins(), ['BOSS']);
});

test('two admins who demote or deactivate each other at once leave one of them admin', async () => {
  const a = await seedUser(ctx.db, 'ADA', 'admin');
  const b = await seedUser(ctx.db, 'BEA', 'admin');
  // BOSS steps aside (through SQL) so that ADA and BEA are the only active admins.
  await ctx.db.updateTable('users').set({ role: 'agent' }).where('id', '=', ctx.boss.id).execute();
  try {
    for (const [first, second] of [
      [
        () => updateUser(ctx.db, a.id, inputOf(a, 'agent'), b.id),
        () => updateUser(ctx.db, b.id, inputOf(b, 'agent'), a.id),
      ],
      [
        () => setUserActive(ctx.db, a.id, false, undefined, b.id),
        () => updateUser(ctx.db, b.id, inputOf(b, 'agent'), a.id),
      ],
    ] as const) {
      const results = await Promise.allSettled([first(), second()]);
      const refused = results.filter((r) => r.status === 'rejected');
      assert.is(refused.length, 1, 'one of the two is refused');
      assert.ok(refused[0]?.status === 'rejected' && refused[0].reason instanceof FormError);
      assert.is((await activeAdmins()).length, 1);
      await ctx.db.updateTable('users').set({ role: 'admin', active: true }).where('id', 'in', [a.id, b.id]).execute();
    }
  } finally {
    await ctx.db.updateTable('users').set({ role: 'admin' }).where('id', '=', ctx.boss.id).execute();
  }
});

test('deactivating yourself is still refused with its own message', async () => {
  await ctx.admin.get(`/admin/users/${ctx.boss.id}`);
  const res = await ctx.admin.post(`/admin/users/${ctx.boss.id}/activation`, { active: '0' });
  assert.is(res.statusCode, 303);
  assert.match((await ctx.admin.get(`/admin/users/${ctx.boss.id}`)).body, 'Du kan inte inaktivera dig själv.');
  assert.is((await findUserById(ctx.db, ctx.boss.id))?.active, true);
});

test.run();
