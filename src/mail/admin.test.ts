import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { SMTPServer } from 'smtp-server';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { loadSecret } from '../db/secrets.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { isOurMessageId } from './outbound/message-id.ts';
import { createMailSender } from './outbound/sender.ts';
import { loadMailSettings } from './outbound/settings.ts';

const secret = 'Hemligt-SMTP-lösen-9f3a';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  app: FastifyInstance;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  kicks: number;
  boss: TestClient;
};
const test = suite('Administering outgoing mail and the outbox');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, kicks: 0 });
  ctx.smtp = await startTestSmtpServer();
  // No SMTP_URL: the server is whatever the administrator saves in the form.
  ctx.app = await buildTestApp(
    ctx.db,
    { PUBLIC_URL: 'http://help.example.com' },
    {
      mailSender: {
        kick: () => {
          ctx.kicks += 1;
        },
      },
    },
  );
  await seedUser(ctx.db, 'BOSS', 'admin');
  await seedUser(ctx.db, 'KALLE', 'agent');
  ctx.boss = new TestClient(ctx.app);
  await ctx.boss.login('boss');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.smtp.close();
  await ctx.drop();
});

// One run of the outbox sender, as the background one would do after a kick.
async function deliver(): Promise<void> {
  const sender = createMailSender({ db: ctx.db, config: ctx.app.deps.config, log: () => {} });
  await sender.runOnce();
  await sender.stop();
}

const settingsForm = (over: Record<string, string> = {}) => ({
  smtp_host: '127.0.0.1',
  smtp_port: String(ctx.smtp.port),
  smtp_security: 'none',
  smtp_user: '',
  smtp_password: '',
  from_name: 'Åkes Support',
  from_address: 'support@casedesk.test',
  reply_to_address: 'inbox@casedesk.test',
  subject_tag: '[#{number}]',
  ...over,
});

const storedPassword = async () => (await loadMailSettings(ctx.db, ctx.app.deps.config)).smtp?.password ?? null;

test('an agent gets 403 on the mail settings and the outbox', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('kalle');
  for (const url of ['/admin/mail', '/admin/outbox']) {
    assert.is((await kalle.get(url)).statusCode, 403, url);
  }
  assert.is((await kalle.post('/admin/mail', settingsForm())).statusCode, 403);
  assert.is((await kalle.post('/admin/mail/test', { test_to: 'x@example.com' })).statusCode, 403);
  assert.is((await kalle.post('/admin/outbox/1/retry')).statusCode, 403);
  const cases = await kalle.get('/cases');
  assert.not.match(cases.body, 'href="/admin/mail"');
});

test('the administration links to the mail pages', async () => {
  const res = await ctx.boss.get('/admin');
  assert.match(res.body, 'href="/admin/mail">Utgående e-post<');
  assert.match(res.body, 'href="/admin/outbox">Utkorg<');
});

test('the settings are saved, and the password never comes back in any page', async () => {
  const bodies: string[] = [];
  const form = await ctx.boss.get('/admin/mail');
  bodies.push(form.body);
  assert.is(form.statusCode, 200);
  assert.match(form.body, 'Inget lösenord är sparat.');
  const kicksBefore = ctx.kicks;
  const saved = await ctx.boss.post('/admin/mail', settingsForm({ smtp_user: 'mailer', smtp_password: secret }));
  bodies.push(saved.body);
  assert.is(saved.statusCode, 303);
  assert.is(ctx.kicks, kicksBefore + 1, 'the sender is kicked, so waiting mail may go');
  const page = await ctx.boss.get('/admin/mail');
  bodies.push(page.body);
  assert.match(page.body, 'Sparat.');
  assert.match(page.body, 'Ett lösenord är sparat.');
  assert.match(page.body, 'name="clear_password"');
  assert.match(page.body, 'value="mailer"');
  assert.match(page.body, 'value="Åkes Support"');
  assert.match(page.body, /<option value="none" selected>/);
  // A failed save answers with the form again: still no password in it.
  const invalid = await ctx.boss.post('/admin/mail', settingsForm({ smtp_user: 'mailer', from_name: '' }));
  bodies.push(invalid.body);
  assert.is(invalid.statusCode, 422);
  for (const body of bodies) assert.not.ok(body.includes(secret), 'the password is not in the page');

  assert.is(await storedPassword(), secret);
  const row = await ctx.db.selectFrom('mail_settings').selectAll().executeTakeFirstOrThrow();
  assert.ok(row.smtp_password_encrypted && !row.smtp_password_encrypted.includes(secret), 'stored encrypted');
});

test('an empty password keeps the stored one, and the checkbox removes it', async () => {
  await ctx.boss.get('/admin/mail');
  assert.is((await ctx.boss.post('/admin/mail', settingsForm({ smtp_user: 'mailer' }))).statusCode, 303);
  assert.is(await storedPassword(), secret, 'left empty, the password stays');
  await ctx.boss.get('/admin/mail');
  const cleared = await ctx.boss.post('/admin/mail', settingsForm({ clear_password: 'on' }));
  assert.is(cleared.statusCode, 303);
  assert.is(await storedPassword(), null);
  const page = await ctx.boss.get('/admin/mail');
  assert.match(page.body, 'Inget lösenord är sparat.');
  assert.not.match(page.body, 'name="clear_password"');
});

test('invalid port, e-mail address and subject tag are named beside their fields, with what was typed kept', async () => {
  await ctx.boss.get('/admin/mail');
  const typedPassword = 'inskrivet-lösen-123';
  const res = await ctx.boss.post(
    '/admin/mail',
    settingsForm({
      smtp_port: 'abc',
      from_address: 'inte-en-adress',
      reply_to_address: 'svar@',
      subject_tag: 'Ärende:',
      smtp_password: typedPassword,
    }),
  );
  assert.is(res.statusCode, 422);
  assert.match(res.body, 'Rätta fälten');
  assert.match(res.body, /id="f-smtp_port-error">Måste vara ett heltal\./);
  assert.match(res.body, /id="f-from_address-error">Inte en giltig e-postadress\./);
  assert.match(res.body, /id="f-reply_to_address-error">Inte en giltig e-postadress\./);
  assert.match(res.body, /id="f-subject_tag-error">Måste innehålla \{number\}\./);
  assert.match(res.body, 'value="abc"');
  assert.match(res.body, 'value="inte-en-adress"');
  assert.match(res.body, 'value="Ärende:"');
  assert.not.ok(res.body.includes(typedPassword), 'a typed password is not sent back');

  const port = await ctx.boss.post('/admin/mail', settingsForm({ smtp_port: '70000' }));
  assert.is(port.statusCode, 422);
  assert.match(port.body, /id="f-smtp_port-error">En port mellan 1 och 65535\./);
  const row = await ctx.db.selectFrom('mail_settings').selectAll().executeTakeFirstOrThrow();
  assert.is(row.subject_tag, '[#{number}]', 'nothing was saved');
});

test('a test e-mail goes through the outbox to the SMTP server, marked Auto-Submitted, and the live check succeeds', async () => {
  await ctx.boss.get('/admin/mail');
  const form = await ctx.boss.get('/admin/mail');
  assert.match(form.body, 'value="boss@example.com"', "the admin's own address is the default recipient");
  const kicksBefore = ctx.kicks;
  const res = await ctx.boss.post('/admin/mail/test', { test_to: 'it@acme.se' });
  assert.is(res.statusCode, 200);
  assert.match(res.body, 'Testmeddelandet ligger i utkorgen.');
  assert.match(res.body, 'href="/admin/outbox"');
  assert.match(res.body, 'Anslutningskontroll: 127.0.0.1 svarade och godtog anslutningen.');
  assert.is(ctx.kicks, kicksBefore + 1);

  const before = ctx.smtp.received.length;
  await deliver();
  const [mail] = (await ctx.smtp.waitFor(before + 1)).slice(before);
  assert.ok(mail);
  assert.equal(mail.envelopeTo, ['it@acme.se']);
  assert.is(mail.parsed.headers.get('auto-submitted'), 'auto-generated');
  assert.is(mail.parsed.subject, 'Testmeddelande från Casedesk');
  assert.equal(mail.parsed.from?.value, [{ name: 'Åkes Support', address: 'support@casedesk.test' }]);
  assert.match(mail.parsed.text ?? '', 'Boss Testsson skickade det här testmeddelandet');
  assert.match(mail.parsed.text ?? '', 'Skickat från: http://help.example.com/');
  assert.ok(isOurMessageId(mail.parsed.messageId ?? '', await loadSecret(ctx.db, 'message-id')));
  const row = await ctx.db.selectFrom('outbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.is(row.kind, 'test');
  assert.is(row.status, 'sent');
  assert.is(row.case_id, null);
});

test('a wrong recipient for the test e-mail is named beside the field', async () => {
  await ctx.boss.get('/admin/mail');
  const res = await ctx.boss.post('/admin/mail/test', { test_to: 'nej' });
  assert.is(res.statusCode, 422);
  assert.match(res.body, /id="f-test_to-error">Inte en giltig e-postadress\./);
  assert.match(res.body, 'value="nej"');
});

test("the live check shows the server's own words when it refuses", async () => {
  // A server that wants a login and refuses this one.
  const strict = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(_auth, _session, callback) {
      callback(new Error('Invalid username or password'));
    },
  });
  await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
  const port = (strict.server.address() as AddressInfo).port;
  try {
    await ctx.boss.get('/admin/mail');
    await ctx.boss.post(
      '/admin/mail',
      settingsForm({ smtp_port: String(port), smtp_user: 'mailer', smtp_password: 'wrong-password-1' }),
    );
    await ctx.boss.get('/admin/mail');
    const res = await ctx.boss.post('/admin/mail/test', { test_to: 'it@acme.se' });
    assert.is(res.statusCode, 200);
    assert.match(res.body, 'Anslutningskontroll: 127.0.0.1 gick inte att använda.');
    assert.match(res.body, 'Invalid username or password');
    assert.not.ok(res.body.includes('wrong-password-1'));
  } finally {
    await new Promise<void>((resolve) => strict.close(() => resolve()));
    await ctx.boss.get('/admin/mail');
    await ctx.boss.post('/admin/mail', settingsForm({ clear_password: 'on' }));
    await ctx.db.updateTable('outbox').set({ status: 'cancelled' }).where('status', '=', 'queued').execute();
  }
});

async function queueTestMailTo(to: string): Promise<string> {
  await ctx.boss.get('/admin/mail');
  await ctx.boss.post('/admin/mail/test', { test_to: to });
  const row = await ctx.db.selectFrom('outbox').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
  return row.id;
}

test("the outbox lists a failed message with the server's words, and Retry sends it once the server recovers", async () => {
  ctx.smtp.setAnswer(() => 550);
  const id = await queueTestMailTo('nobody@acme.se');
  await deliver();
  ctx.smtp.setAnswer(() => 250);
  const list = await ctx.boss.get('/admin/outbox?status=failed');
  assert.is(list.statusCode, 200);
  assert.match(list.body, `id="outbox-${id}"`);
  assert.match(list.body, 'Misslyckades');
  assert.match(list.body, 'Mailbox unavailable');
  assert.match(list.body, 'nobody@acme.se');
  assert.match(list.body, `action="/admin/outbox/${id}/retry"`);
  assert.not.match(list.body, /Skickat<\/td>/, 'the filter shows failed ones only');

  const noToken = await ctx.boss.post(`/admin/outbox/${id}/retry`, { _csrf: '' });
  assert.is(noToken.statusCode, 403, 'a POST without the CSRF token is refused');

  await ctx.boss.get('/admin/outbox?status=failed');
  const kicksBefore = ctx.kicks;
  const retried = await ctx.boss.post(`/admin/outbox/${id}/retry`, { back: '/admin/outbox?status=failed' });
  assert.is(retried.statusCode, 303);
  assert.is(retried.headers.location, '/admin/outbox?status=failed');
  assert.is(ctx.kicks, kicksBefore + 1);
  const before = ctx.smtp.received.length;
  await deliver();
  await ctx.smtp.waitFor(before + 1);
  assert.equal(ctx.smtp.received.at(-1)?.envelopeTo, ['nobody@acme.se']);
  const row = await ctx.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.status, 'sent');
  assert.is(row.attempts, 2);
  const page = await ctx.boss.get('/admin/outbox');
  assert.match(page.body, 'E-postmeddelandet ligger i kö och skickas nu.');
});

test('Cancel stops a queued message, after asking', async () => {
  const id = await queueTestMailTo('stop@acme.se');
  const list = await ctx.boss.get('/admin/outbox?status=queued');
  assert.match(list.body, `action="/admin/outbox/${id}/cancellation"`);
  assert.match(list.body, 'data-confirm="Stoppa utskicket av det här e-postmeddelandet till stop@acme.se?"');
  const res = await ctx.boss.post(`/admin/outbox/${id}/cancellation`, { back: 'https://evil.example/' });
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/admin/outbox', 'never redirected elsewhere');
  const before = ctx.smtp.received.length;
  await deliver();
  assert.is(ctx.smtp.received.length, before, 'nothing was sent');
  const row = await ctx.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.status, 'cancelled');
  const again = await ctx.boss.post(`/admin/outbox/${id}/cancellation`);
  assert.is(again.statusCode, 303);
  const page = await ctx.boss.get('/admin/outbox');
  assert.match(page.body, 'E-postmeddelandet har hunnit ändra status; inget ändrades.');
});

test('the outbox is paged by 50, newest first', async () => {
  const first = await ctx.db.selectFrom('outbox').selectAll().executeTakeFirstOrThrow();
  const { id: _id, ...copy } = first;
  await ctx.db
    .insertInto('outbox')
    .values(
      Array.from({ length: 55 }, (_, i) => ({
        ...copy,
        compose: null,
        status: 'sent' as const,
        subject: `Massutskick ${i}`,
        message_id: `<mass-${i}@casedesk.test>`,
      })),
    )
    .execute();
  const one = await ctx.boss.get('/admin/outbox');
  assert.match(one.body, 'Massutskick 54');
  assert.not.match(one.body, 'Massutskick 4<');
  assert.match(one.body, 'href="/admin/outbox?page=2"');
  const two = await ctx.boss.get('/admin/outbox?page=2');
  assert.match(two.body, 'Massutskick 4<');
  assert.match(two.body, 'rel="prev" href="/admin/outbox"');
});

test.run();

const env = suite('Outgoing mail when SMTP_URL decides the server');

env('the server fields are read-only, and the URL’s password never shows', async () => {
  const t = await createTestDatabase();
  const app = await buildTestApp(t.db, { SMTP_URL: 'smtp://envuser:env-secret-77@mail.example.com:2525?security=tls' });
  try {
    await seedUser(t.db, 'BOSS', 'admin');
    const boss = new TestClient(app);
    await boss.login('boss');
    const page = await boss.get('/admin/mail');
    assert.is(page.statusCode, 200);
    assert.match(page.body, 'SMTP_URL i miljön bestämmer servern');
    assert.match(page.body, 'mail.example.com');
    assert.match(page.body, '2525');
    assert.match(page.body, 'envuser');
    assert.not.match(page.body, 'name="smtp_host"');
    assert.not.match(page.body, 'name="smtp_password"');
    assert.not.ok(page.body.includes('env-secret-77'));
    const saved = await boss.post('/admin/mail', {
      from_name: 'Miljö-support',
      from_address: 'env@casedesk.test',
      reply_to_address: '',
      subject_tag: 'Ärende {number}:',
      smtp_host: 'ignored.example.com',
    });
    assert.is(saved.statusCode, 303);
    const row = await t.db.selectFrom('mail_settings').selectAll().executeTakeFirstOrThrow();
    assert.is(row.from_name, 'Miljö-support');
    assert.is(row.subject_tag, 'Ärende {number}:');
    assert.is(row.smtp_host, null, 'the stored server stays as it was');
  } finally {
    await app.close();
    await t.drop();
  }
});

env.run();
