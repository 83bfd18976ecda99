import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { parseForm } from '../../forms/form.ts';
import { testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { createMailbox, mailboxSchema } from './mailboxes.ts';
import { findMailRead, findRunningMailRead, startMailRead } from './read-mail.ts';

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
  // A mailbox whose server accepts and never answers keeps the read running while both clicks
  // land (with no mailbox at all, a read can end before the second click's insert).
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const form = parseForm(mailboxSchema, {
    name: 'Tyst',
    imap_host: '127.0.0.1',
    imap_port: String((silent.address() as net.AddressInfo).port),
    imap_security: 'none',
    imap_user: 'support',
    imap_password: 'x',
    folder: 'INBOX',
    after_read: 'seen',
  });
  if (!form.ok) throw new Error(JSON.stringify(form.errors));
  const mailbox = await createMailbox(ctx.db, form.data);
  const opts = { timeoutMs: 1500 };
  const [a, b] = await Promise.all([
    startMailRead(ctx.db, ctx.config, null, opts),
    startMailRead(ctx.db, ctx.config, null, opts),
  ]);
  assert.is(a.id, b.id);
  assert.is([a.started, b.started].filter(Boolean).length, 1);
  await (a.running ?? b.running);
  assert.is((await findMailRead(ctx.db, a.id))?.state, 'done');
  // once done, the next click starts a new one
  const next = await startMailRead(ctx.db, ctx.config, null, opts);
  assert.ok(next.started);
  assert.is.not(next.id, a.id);
  await next.running;
  await ctx.db.deleteFrom('mailboxes').where('id', '=', mailbox.id).execute();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
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

test('a read whose process died shows as abandoned at once, before the next click writes it down', async () => {
  const dead = await ctx.db
    .insertInto('mail_reads')
    .values({ mailboxes: '[]', heartbeat_at: new Date(Date.now() - 5 * 60_000) })
    .returning('id')
    .executeTakeFirstOrThrow();
  assert.is((await findMailRead(ctx.db, dead.id))?.state, 'abandoned');
  assert.is(await findRunningMailRead(ctx.db), undefined, 'nobody is sent to join it');
  const stored = await ctx.db
    .selectFrom('mail_reads')
    .select('state')
    .where('id', '=', dead.id)
    .executeTakeFirstOrThrow();
  assert.is(stored.state, 'running', 'looking wrote nothing');
  await ctx.db.updateTable('mail_reads').set({ state: 'abandoned' }).where('id', '=', dead.id).execute();
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
