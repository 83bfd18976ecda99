import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { findMailRead, startMailRead } from './read-mail.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; config: Config };
const test = suite('Read mail on demand: one read at a time, and none left hanging by a dead process');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig() });
});
test.after(async () => {
  await ctx.drop();
});

test('two clicks at the same moment start one read; both get its id', async () => {
  const [a, b] = await Promise.all([startMailRead(ctx.db, ctx.config, null), startMailRead(ctx.db, ctx.config, null)]);
  assert.is(a.id, b.id);
  assert.is([a.started, b.started].filter(Boolean).length, 1);
  await (a.running ?? b.running);
  assert.is((await findMailRead(ctx.db, a.id))?.state, 'done');
  // once done, the next click starts a new one
  const next = await startMailRead(ctx.db, ctx.config, null);
  assert.ok(next.started);
  assert.is.not(next.id, a.id);
  await next.running;
});

test('a running read whose process stopped beating is abandoned, and the next click starts afresh', async () => {
  const dead = await ctx.db
    .insertInto('mail_reads')
    .values({ mailboxes: '[]', heartbeat_at: new Date(Date.now() - 5 * 60_000) })
    .returning('id')
    .executeTakeFirstOrThrow();
  const read = await startMailRead(ctx.db, ctx.config, null);
  assert.ok(read.started);
  assert.is.not(read.id, dead.id);
  await read.running;
  assert.is((await findMailRead(ctx.db, dead.id))?.state, 'abandoned');
  assert.is((await findMailRead(ctx.db, read.id))?.state, 'done');
});

test('a running read that still beats is joined, not replaced', async () => {
  const alive = await ctx.db
    .insertInto('mail_reads')
    .values({ mailboxes: '[]' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const read = await startMailRead(ctx.db, ctx.config, null);
  assert.equal(
    { id: read.id, started: read.started, running: read.running },
    { id: alive.id, started: false, running: null },
  );
  await ctx.db.updateTable('mail_reads').set({ state: 'done' }).where('id', '=', alive.id).execute();
});

test.run();
