import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../../db/database.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { processInboundMessage } from './process.ts';
import { storeInboundRaw } from './store.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; app: FastifyInstance };
const test = suite('Administration → Failed mail');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  await seedUser(ctx.db, 'ADMIN', 'admin');
  await seedUser(ctx.db, 'KALLE');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const raw = Buffer.from(
  'From: Per <per@acme.se>\r\nTo: support@casedesk.test\r\nSubject: Stor\r\nMessage-ID: <stor-1@acme.se>\r\n\r\nHej',
);

test('lists failed and stale pending mail, downloads it and retries it', async () => {
  const failed = await storeInboundRaw(ctx.db, raw, { source: 'import' });
  await ctx.db
    .updateTable('inbound_messages')
    .set({ status: 'failed', error: 'The message is 30.0 MB, larger than the limit', attempts: 1 })
    .where('id', '=', failed.id)
    .execute();
  const fresh = await storeInboundRaw(ctx.db, Buffer.from('Subject: ny\r\n\r\nx'), { source: 'import' });

  const admin = new TestClient(ctx.app);
  await admin.login('ADMIN');
  const page = await admin.get('/admin/inbound');
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'larger than the limit');
  assert.match(page.body, '&lt;stor-1@acme.se&gt;');
  assert.not.match(
    page.body,
    `/admin/inbound/${fresh.id}/retry`,
    'a pending message younger than 5 minutes is still on its way',
  );
  assert.match((await admin.get('/admin')).body, 'href="/admin/inbound"');

  const download = await admin.get(`/admin/inbound/${failed.id}/raw`);
  assert.is(download.statusCode, 200);
  assert.is(download.headers['content-type'], 'message/rfc822');
  assert.is(download.body, raw.toString());

  const noToken = await admin.post(`/admin/inbound/${failed.id}/retry`, { _csrf: '' });
  assert.is(noToken.statusCode, 403);
  await admin.get('/admin/inbound');
  const retry = await admin.post(`/admin/inbound/${failed.id}/retry`);
  assert.is(retry.statusCode, 303);
  const after = await admin.get('/admin/inbound');
  // the user's language is the default, Swedish
  assert.match(after.body, /Meddelandet blev ärende 2026-\d+/);
  const row = await ctx.db
    .selectFrom('inbound_messages')
    .select(['status', 'outcome'])
    .where('id', '=', failed.id)
    .executeTakeFirstOrThrow();
  assert.equal(row, { status: 'processed', outcome: 'created' });
});

test('is for administrators only', async () => {
  const agent = new TestClient(ctx.app);
  await agent.login('KALLE');
  assert.is((await agent.get('/admin/inbound')).statusCode, 403);
});

test('the thread shows a mail with its remote images held back behind "show images"', async () => {
  const mail = Buffer.from(
    'From: Per <per@acme.se>\r\nTo: support@casedesk.test\r\nSubject: Bilder\r\nMessage-ID: <bilder-1@acme.se>\r\n' +
      'Content-Type: text/html; charset=utf-8\r\n\r\n<p>Se loggan</p><img src="https://cdn.example/logo.png" alt="Logo">',
  );
  const stored = await storeInboundRaw(ctx.db, mail, { source: 'import' });
  const result = await processInboundMessage(ctx.db, testConfig(), stored.id);
  const agent = new TestClient(ctx.app);
  await agent.login('KALLE');
  const page = await agent.get(`/cases/${result.caseNumber}`);
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Se loggan');
  assert.match(page.body, 'data-remote-src="https://cdn.example/logo.png"');
  assert.match(page.body, 'data-show-remote-images hidden');
  assert.not.match(page.body, /<img[^>]+cdn\.example/);
  assert.match(page.body, '/static/mail-images.js');
});

test.run();
