import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../../db/database.ts';
import { buildTestApp, seedUser, TestClient } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { startTestImapServer, type TestImapServer, testMessage } from '../../test-support/imap.ts';
import { needs } from '../../test-support/system-packages.ts';
import { decryptPassword } from '../outbound/settings.ts';

const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; imap: TestImapServer; admin: TestClient };
const test = needs('dovecot', suite('Administration → Mailboxes, and Read mail from the overview'));

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.imap = await startTestImapServer();
  await seedUser(ctx.db, 'BOSS', 'admin', { language: 'en' });
  await seedUser(ctx.db, 'KALLE', 'agent', { language: 'en' });
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('boss');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.imap.close();
  await ctx.drop();
});

function form(extra: Record<string, string> = {}): Record<string, string> {
  return {
    name: 'Support',
    imap_host: ctx.imap.host,
    imap_port: String(ctx.imap.port),
    imap_security: 'none',
    imap_user: ctx.imap.user,
    imap_password: ctx.imap.password,
    folder: 'INBOX',
    after_read: 'seen',
    move_to_folder: '',
    default_case_type_id: '',
    default_status_id: '',
    default_responsible_id: '',
    default_priority_id: '',
    ...extra,
  };
}

// Read mail runs in the background: its page, once the read is done (htmx stops polling then).
async function finishedRead(client: TestClient, url: string): Promise<string> {
  for (let tries = 0; tries < 100; tries++) {
    const page = await client.get(url);
    if (!page.body.includes('hx-trigger=')) return page.body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not finish`);
}

const findByName = (name: string) =>
  ctx.db.selectFrom('mailboxes').selectAll().where('name', '=', name).executeTakeFirst();

test('an agent gets 403 on every mailbox URL, GET or POST', async () => {
  const agent = new TestClient(ctx.app);
  await agent.login('kalle');
  for (const url of ['/admin/mailboxes', '/admin/mailboxes/new', '/admin/mailboxes/1']) {
    assert.is((await agent.get(url)).statusCode, 403, url);
  }
  await agent.get('/cases');
  assert.is((await agent.post('/admin/mailboxes', form({ name: 'Hack' }))).statusCode, 403);
  assert.is((await agent.post('/admin/mailboxes/connection-test', form())).statusCode, 403);
  assert.is(await findByName('Hack'), undefined);
});

test('field errors show beside their fields, typed values are kept, the typed password is not', async () => {
  await ctx.admin.get('/admin/mailboxes/new');
  const res = await ctx.admin.post(
    '/admin/mailboxes',
    form({
      name: 'Försäljning',
      imap_port: '99999',
      imap_user: '',
      imap_password: 'hemligt-lösen-123',
      after_read: 'move',
    }),
  );
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'id="f-imap_port-error"');
  assert.match(res.body, 'id="f-imap_user-error"');
  assert.match(res.body, 'id="f-move_to_folder-error"', 'moving needs a folder');
  assert.match(res.body, 'value="Försäljning"');
  assert.match(res.body, 'value="99999"');
  assert.not.match(res.body, 'hemligt-lösen-123');
  assert.is(await findByName('Försäljning'), undefined);
  // A new mailbox needs a password.
  const noPassword = await ctx.admin.post('/admin/mailboxes', form({ name: 'Försäljning', imap_password: '' }));
  assert.is(noPassword.statusCode, 422);
  assert.match(noPassword.body, 'id="f-imap_password-error"');
});

test('an admin creates a mailbox; the password is kept encrypted and never shown back', async () => {
  await ctx.admin.get('/admin/mailboxes/new');
  const res = await ctx.admin.post('/admin/mailboxes', form());
  assert.is(res.statusCode, 303);
  const row = await findByName('Support');
  assert.ok(row);
  assert.is(res.headers.location, `/admin/mailboxes/${row.id}`);
  assert.ok(row.imap_password_encrypted);
  assert.not.match(row.imap_password_encrypted, ctx.imap.password);
  assert.is(await decryptPassword(ctx.db, row.imap_password_encrypted), ctx.imap.password);

  const page = await ctx.admin.get(`/admin/mailboxes/${row.id}`);
  assert.is(page.statusCode, 200);
  assert.not.match(page.body, ctx.imap.password);
  assert.not.match(page.body, row.imap_password_encrypted);
  assert.match(page.body, 'A password is stored');

  // Saved with the password field empty: the stored password stays.
  const saved = await ctx.admin.post(
    `/admin/mailboxes/${row.id}`,
    form({ name: 'Support', imap_password: '', folder: 'INBOX' }),
  );
  assert.is(saved.statusCode, 303);
  const after = await findByName('Support');
  assert.is(await decryptPassword(ctx.db, after?.imap_password_encrypted ?? ''), ctx.imap.password);

  const list = await ctx.admin.get('/admin/mailboxes');
  assert.match(list.body, `href="/admin/mailboxes/${row.id}"`);
  assert.not.match(list.body, ctx.imap.password);
  assert.match((await ctx.admin.get('/admin')).body, 'href="/admin/mailboxes"');
});

test('the name must be unique', async () => {
  await ctx.admin.get('/admin/mailboxes/new');
  const res = await ctx.admin.post('/admin/mailboxes', form({ name: 'Support' }));
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'id="f-name-error"');
});

test('"Test connection" against Dovecot counts the messages; a wrong port gives the error words', async () => {
  await ctx.imap.appendMessage(testMessage({ subject: 'Hej' }));
  await ctx.imap.appendMessage(testMessage({ subject: 'Hej igen' }), { flags: ['\\Seen'] });
  const row = await findByName('Support');
  assert.ok(row);
  await ctx.admin.get(`/admin/mailboxes/${row.id}`);
  // The stored password is used when the field is left empty; nothing is saved.
  const ok = await ctx.admin.post(
    `/admin/mailboxes/${row.id}/connection-test`,
    form({ imap_password: '', name: 'Changed' }),
  );
  assert.is(ok.statusCode, 200);
  assert.match(ok.body, 'holds 2 messages, 1 of them unread');
  assert.match(ok.body, 'value="Changed"', 'the typed values stay in the form');
  assert.not.match(ok.body, ctx.imap.password);
  assert.is((await findByName('Support'))?.id, row.id, 'a test saves nothing');

  const refused = await ctx.admin.post(
    `/admin/mailboxes/${row.id}/connection-test`,
    form({ imap_password: '', imap_port: '1' }),
  );
  assert.is(refused.statusCode, 200);
  assert.match(refused.body, 'could not read INBOX');
  assert.match(refused.body, 'ECONNREFUSED');

  // For a mailbox not yet saved, with the password typed in.
  await ctx.admin.get('/admin/mailboxes/new');
  const fresh = await ctx.admin.post(
    '/admin/mailboxes/connection-test',
    form({ name: 'New one', imap_password: 'wrong' }),
  );
  assert.is(fresh.statusCode, 200);
  assert.match(fresh.body, 'Authentication failed');
  assert.is(await findByName('New one'), undefined);
});

test('deactivating a mailbox stops it being read', async () => {
  const row = await findByName('Support');
  assert.ok(row);
  await ctx.admin.get(`/admin/mailboxes/${row.id}`);
  const res = await ctx.admin.post(`/admin/mailboxes/${row.id}/activation`, { active: '0' });
  assert.is(res.statusCode, 303);
  assert.is((await findByName('Support'))?.active, false);
  assert.not.match((await ctx.admin.get('/admin/mailboxes')).body, `href="/admin/mailboxes/${row.id}"`);
  assert.match((await ctx.admin.get('/admin/mailboxes?inactive=1')).body, `href="/admin/mailboxes/${row.id}"`);
});

test('Read mail with no mailbox set up says so, with a link for administrators only', async () => {
  const agent = new TestClient(ctx.app);
  await agent.login('kalle');
  const overview = await agent.get('/cases');
  assert.match(overview.body, 'action="/mail/read"', 'every member of staff has Read mail in the Manage menu');
  const posted = await agent.post('/mail/read');
  assert.is(posted.statusCode, 303);
  const read = await finishedRead(agent, String(posted.headers.location));
  assert.match(read, 'No mailbox is set up');
  const page = await agent.get('/mail/read');
  assert.match(page.body, 'No mailbox is set up');
  assert.not.match(page.body, 'href="/admin/mailboxes"');
  await ctx.admin.get('/cases');
  await ctx.admin.post('/mail/read');
  assert.match((await ctx.admin.get('/mail/read')).body, 'href="/admin/mailboxes"');
});

test('Read mail from the overview reads every mailbox and reports what it did', async () => {
  const row = await findByName('Support');
  assert.ok(row);
  await ctx.db.updateTable('mailboxes').set({ active: true }).where('id', '=', row.id).execute();
  const agent = new TestClient(ctx.app);
  await agent.login('kalle');
  // Without the CSRF token nothing is read.
  assert.is((await agent.post('/mail/read', { _csrf: '' })).statusCode, 403);
  const posted = await agent.post('/mail/read');
  assert.is(posted.statusCode, 303);
  assert.match(String(posted.headers.location), /^\/mail\/read\/runs\/\d+$/);
  const page = await finishedRead(agent, String(posted.headers.location));
  assert.match(page, 'What Read mail did');
  assert.match(page, '<th scope="row">Support</th>');
  const stored = await ctx.db.selectFrom('inbound_messages').select('id').where('mailbox_id', '=', row.id).execute();
  assert.is(stored.length, 1, 'the unread message was read; the one already read was left alone');
  // state, read, new cases
  assert.match(page, /<th scope="row">Support<\/th>\s*<td>Done<\/td>\s*<td>1<\/td><td>1<\/td>/, 'one new case');
  // The overview's Read mail page shows the mailboxes' state.
  assert.not.match((await agent.get('/mail/read')).body, 'What Read mail did');
});

test('Read mail reports a mailbox that cannot be read, in the server’s words', async () => {
  const row = await findByName('Support');
  assert.ok(row);
  await ctx.db.updateTable('mailboxes').set({ imap_port: 1 }).where('id', '=', row.id).execute();
  await ctx.admin.get('/cases');
  const posted = await ctx.admin.post('/mail/read');
  const page = await finishedRead(ctx.admin, String(posted.headers.location));
  assert.match(page, 'Could not read the mailbox:');
  assert.match(page, 'ECONNREFUSED');
});

test.run();
