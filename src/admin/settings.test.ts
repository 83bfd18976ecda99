import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void> };
const test = suite('Basic settings for case management');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  await seedUser(ctx.db, 'BOSS', 'admin');
  await seedUser(ctx.db, 'KALLE', 'agent');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('an admin changes the reopen window and read-mail interval; bad values are named and kept', async () => {
  const admin = new TestClient(ctx.app);
  await admin.login('boss');
  const page = await admin.get('/admin/settings');
  assert.match(page.body, 'value="14"');
  assert.match(page.body, 'Håll kvar svar för Ångra (sekunder)');
  assert.match(page.body, /name="undo_send_seconds" type="number" value="10"/, 'Undo send holds 10 s unless changed');
  const bad = await admin.post('/admin/settings', {
    reopen_closed_within_days: 'tio',
    read_mail_every_minutes: '0',
    max_inbound_mb: '25',
    undo_send_seconds: '-1',
  });
  assert.is(bad.statusCode, 422);
  assert.match(bad.body, 'value="tio"');
  assert.match(bad.body, 'value="-1"');
  assert.match(bad.body, 'Måste vara ett heltal.');
  const ok = await admin.post('/admin/settings', {
    reopen_closed_within_days: '30',
    read_mail_every_minutes: '5',
    max_inbound_mb: '10',
    undo_send_seconds: '0',
    loop_limit_per_hour: '10',
  });
  assert.is(ok.statusCode, 303);
  const row = await ctx.db.selectFrom('case_settings').selectAll().executeTakeFirstOrThrow();
  assert.equal(
    [row.reopen_closed_within_days, row.read_mail_every_minutes, row.max_inbound_mb, row.undo_send_seconds],
    [30, 5, 10, 0],
  );
});

test('an agent may not change them', async () => {
  const agent = new TestClient(ctx.app);
  await agent.login('kalle');
  assert.is((await agent.get('/admin/settings')).statusCode, 403);
});

test.run();
