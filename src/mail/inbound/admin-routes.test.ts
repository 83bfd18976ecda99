import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../../db/database.ts';
import { translator } from '../../i18n/i18n.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { stillOnServer } from './admin-routes.ts';
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
  // A mail is bytes to save (the .eml name tells the mail program), never a page of ours.
  assert.is(download.headers['content-type'], 'application/octet-stream');
  assert.match(String(download.headers['content-disposition']), /^attachment; filename\*=UTF-8''inbound-\d+\.eml$/);
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

test('refuses to retry a message of which only the header was downloaded, and says where it is', async () => {
  const head = Buffer.from(
    'From: Per <per@acme.se>\r\nTo: support@casedesk.test\r\nSubject: Stor bilaga\r\nMessage-ID: <huge-1@acme.se>\r\n\r\n',
  );
  const stored = await storeInboundRaw(ctx.db, head, { source: 'import' });
  await ctx.db
    .updateTable('inbound_messages')
    .set({ status: 'failed', outcome: 'too_large', error: 'too large: 40.0 MB (limit 25.0 MB)', attempts: 0 })
    .where('id', '=', stored.id)
    .execute();
  const admin = new TestClient(ctx.app);
  await admin.login('ADMIN');
  const page = await admin.get('/admin/inbound');
  assert.not.match(page.body, `/admin/inbound/${stored.id}/retry`, 'no retry button for it');
  assert.match(page.body, 'href="/admin/settings"');
  assert.match(page.body, 'där det markerades som läst');

  const retry = await admin.post(`/admin/inbound/${stored.id}/retry`);
  assert.is(retry.statusCode, 303);
  const after = await admin.get('/admin/inbound');
  assert.match(after.body, /Inte försökt igen: bara meddelandets huvud hämtades/);
  assert.match(after.body, /finns kvar på e-postservern, där det markerades som läst/);
  const row = await ctx.db
    .selectFrom('inbound_messages')
    .select(['status', 'outcome'])
    .where('id', '=', stored.id)
    .executeTakeFirstOrThrow();
  assert.equal(row, { status: 'failed', outcome: 'too_large' }, 'not processed: no empty case');
  const cases = await ctx.db.selectFrom('cases').select('id').where('title', '=', 'Stor bilaga').execute();
  assert.is(cases.length, 0);
});

test('a message too large to download was left on the server read, or read and moved', () => {
  const t = translator('en');
  assert.match(stillOnServer(t, { after_read: 'seen', move_to_folder: null }), 'marked as read.');
  assert.match(
    stillOnServer(t, { after_read: 'move', move_to_folder: 'INBOX.Done' }),
    'marked as read and moved to the folder “INBOX.Done”',
  );
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
