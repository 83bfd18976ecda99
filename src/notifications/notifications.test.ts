import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { loadSecret } from '../db/secrets.ts';
import { isOurMessageId } from '../mail/outbound/message-id.ts';
import { createMailSender } from '../mail/outbound/sender.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { startTestSmtpServer } from '../test-support/smtp.ts';
import { notifyUser, notifyUsers } from './notifications.ts';

// http: a secure session cookie would not come back over app.inject()
const publicUrl = 'http://help.example.com/desk';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  app: FastifyInstance;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  kicks: number;
  kalle: User;
  anna: User;
  olle: User;
  kase: Case;
};
const test = suite('Notifications by e-mail');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, kicks: 0 });
  ctx.smtp = await startTestSmtpServer();
  ctx.app = await buildTestApp(
    ctx.db,
    { SMTP_URL: ctx.smtp.url, PUBLIC_URL: publicUrl },
    {
      mailSender: {
        kick: () => {
          ctx.kicks += 1;
        },
      },
    },
  );
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA', 'agent', { language: 'en' });
  ctx.olle = await seedUser(ctx.db, 'OLLE');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, contact.id);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.smtp.close();
  await ctx.drop();
});

async function deliver(): Promise<void> {
  const sender = createMailSender({ db: ctx.db, config: ctx.app.deps.config, log: () => {} });
  await sender.runOnce();
  await sender.stop();
}

async function loggedIn(login: string): Promise<TestClient> {
  const client = new TestClient(ctx.app);
  await client.login(login);
  return client;
}

const mailsTo = async (user: User) => {
  const rows = await ctx.db.selectFrom('outbox').selectAll().where('kind', '=', 'notification').orderBy('id').execute();
  return rows.filter((row) => row.envelope_to.includes(user.email as string));
};

async function currentCase() {
  return ctx.db.selectFrom('cases').selectAll().where('id', '=', ctx.kase.id).executeTakeFirstOrThrow();
}

test('a mentioned colleague gets an e-mail in their language with a full link to the post', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get(`/cases/${ctx.kase.number}/discussion`);
  const kicksBefore = ctx.kicks;
  const res = await kalle.post(`/cases/${ctx.kase.number}/discussion`, {
    body_html: '<div>@ANNA kan du titta på skrivaren?</div>',
  });
  assert.is(res.statusCode, 303);
  assert.is(ctx.kicks, kicksBefore + 1, 'the request kicks the sender');
  const post = await ctx.db.selectFrom('discussion_posts').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();

  const before = ctx.smtp.received.length;
  await deliver();
  const [mail] = (await ctx.smtp.waitFor(before + 1)).slice(before);
  assert.ok(mail);
  assert.equal(mail.envelopeTo, ['anna@example.com']);
  const p = mail.parsed;
  assert.is(p.subject, `[#${ctx.kase.number}] You were mentioned: Skrivaren fastnar`);
  assert.is(p.headers.get('auto-submitted'), 'auto-generated');
  const link = `${publicUrl}/cases/${ctx.kase.number}/discussion#post-${post.id}`;
  assert.match(p.text ?? '', 'Kalle Testsson mentioned you');
  assert.match(p.text ?? '', link);
  assert.match(String(p.html), `href="${link}"`);
  assert.match(p.text ?? '', `${publicUrl}/account`, 'says where to switch it off');
  assert.ok(isOurMessageId(p.messageId ?? '', await loadSecret(ctx.db, 'message-id')));

  const [row] = await mailsTo(ctx.anna);
  assert.is(row?.case_id, ctx.kase.id);
  assert.is(row?.thread_entry_id, null);
  assert.is(row?.status, 'sent');
  const copies = await ctx.db
    .selectFrom('documents')
    .innerJoin('document_folders', 'document_folders.id', 'documents.folder_id')
    .select('documents.id')
    .where('documents.case_id', '=', ctx.kase.id)
    .where('document_folders.system_key', '=', 'email_out')
    .execute();
  assert.is(copies.length, 0, "a colleague's notification is not the case's correspondence");
});

test('no e-mail for a mention once the user switched that off on My settings; the bell still rings', async () => {
  const anna = await loggedIn('anna');
  await anna.get('/account');
  const saved = await anna.post('/account', { email_on_assigned: 'on', language: 'en' });
  assert.is(saved.statusCode, 303);
  const user = await ctx.db.selectFrom('users').selectAll().where('id', '=', ctx.anna.id).executeTakeFirstOrThrow();
  assert.is(user.email_on_mention, false);
  assert.is(user.email_on_assigned, true);

  const mailsBefore = (await mailsTo(ctx.anna)).length;
  const kalle = await loggedIn('kalle');
  await kalle.get(`/cases/${ctx.kase.number}/discussion`);
  await kalle.post(`/cases/${ctx.kase.number}/discussion`, { body_html: '<div>@ANNA igen</div>' });
  assert.is((await mailsTo(ctx.anna)).length, mailsBefore);
  const bell = await ctx.db
    .selectFrom('notifications')
    .select('id')
    .where('user_id', '=', ctx.anna.id)
    .where('kind', '=', 'mentioned')
    .execute();
  assert.is(bell.length, 2);
});

test('the new responsible gets an e-mail when the case header changes, but not the one who did it', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get(`/cases/${ctx.kase.number}`);
  const kase = await currentCase();
  const header = (responsible: User, version: number) => ({
    title: kase.title,
    responsible_id: String(responsible.id),
    customer: 'K1001',
    status_id: String(kase.status_id),
    case_type_id: String(kase.case_type_id),
    priority_id: '',
    due_date: '',
    contact_id: String(kase.contact_id ?? ''),
    version: String(version),
  });
  const kicksBefore = ctx.kicks;
  const res = await kalle.post(`/cases/${ctx.kase.number}/header`, header(ctx.olle, kase.version));
  assert.is(res.statusCode, 303);
  assert.is(ctx.kicks, kicksBefore + 1);
  const before = ctx.smtp.received.length;
  await deliver();
  const [mail] = (await ctx.smtp.waitFor(before + 1)).slice(before);
  assert.equal(mail?.envelopeTo, ['olle@example.com']);
  assert.is(mail?.parsed.subject, `[#${ctx.kase.number}] Du är nu ansvarig: Skrivaren fastnar`, 'Swedish by default');
  assert.is(mail?.parsed.headers.get('auto-submitted'), 'auto-generated');
  assert.match(mail?.parsed.text ?? '', 'Kalle Testsson gjorde dig ansvarig');
  assert.match(mail?.parsed.text ?? '', `${publicUrl}/cases/${ctx.kase.number}`);

  // Taking the case oneself tells nobody.
  const outboxBefore = await ctx.db.selectFrom('outbox').select('id').execute();
  await kalle.get(`/cases/${ctx.kase.number}`);
  const back = await kalle.post(`/cases/${ctx.kase.number}/header`, header(ctx.kalle, (await currentCase()).version));
  assert.is(back.statusCode, 303);
  assert.is((await ctx.db.selectFrom('outbox').select('id').execute()).length, outboxBefore.length);
});

test('an assignment by quick edit in the overview e-mails the new responsible', async () => {
  const kalle = await loggedIn('kalle');
  await kalle.get('/cases');
  const before = ctx.smtp.received.length;
  const res = await kalle.request({
    method: 'POST',
    url: `/cases/${ctx.kase.number}/quick-edit`,
    form: { field: 'responsible_id', value: String(ctx.anna.id), version: String((await currentCase()).version) },
    headers: { 'x-csrf-token': kalle.csrf },
    htmx: true,
  });
  assert.is(res.statusCode, 200, res.body);
  await deliver();
  const [mail] = (await ctx.smtp.waitFor(before + 1)).slice(before);
  assert.equal(mail?.envelopeTo, ['anna@example.com']);
  assert.is(mail?.parsed.subject, `[#${ctx.kase.number}] You are now responsible: Skrivaren fastnar`);
});

test('no e-mail to a user without an address, an inactive one, or when the kind is off', async () => {
  await ctx.db.updateTable('users').set({ email: null }).where('id', '=', ctx.olle.id).execute();
  const config = ctx.app.deps.config;
  const n = { actorId: ctx.kalle.id, caseId: ctx.kase.id, summary: 'x', link: `/cases/${ctx.kase.number}` };
  const count = async () => (await ctx.db.selectFrom('outbox').select('id').execute()).length;
  const before = await count();
  await notifyUser(ctx.db, { ...n, userId: ctx.olle.id, kind: 'assigned' }, { config });
  await ctx.db.updateTable('users').set({ active: false }).where('id', '=', ctx.anna.id).execute();
  await notifyUser(ctx.db, { ...n, userId: ctx.anna.id, kind: 'assigned' }, { config });
  await ctx.db
    .updateTable('users')
    .set({ active: true, email_on_assigned: false })
    .where('id', '=', ctx.anna.id)
    .execute();
  await notifyUser(ctx.db, { ...n, userId: ctx.anna.id, kind: 'assigned' }, { config });
  // Without the config (demo data, benchmarks) only the bell rings.
  await notifyUser(ctx.db, { ...n, userId: ctx.kalle.id, kind: 'assigned' }, { config: undefined });
  assert.is(await count(), before);
  await notifyUser(ctx.db, { ...n, userId: ctx.kalle.id, kind: 'assigned' }, { config });
  assert.is(await count(), before + 1);
});

test('two service-level bells of one case say which target each is about', async () => {
  const bell = (slaTarget: 'next_response' | 'resolution') => ({
    userId: ctx.anna.id,
    actorId: null,
    kind: 'sla_breached' as const,
    caseId: ctx.kase.id,
    summary: `${ctx.kase.number} ${ctx.kase.title}`,
    link: `/cases/${ctx.kase.number}`,
    slaTarget,
  });
  await notifyUsers(ctx.db, [bell('next_response'), bell('resolution')], { config: undefined });
  const anna = await loggedIn('anna');
  const page = (await anna.get('/notifications')).body;
  assert.match(page, `Service level breached (Response): ${ctx.kase.number}`);
  assert.match(page, `Service level breached (Resolution): ${ctx.kase.number}`);
});

test("many at once: each mail is written when it goes, in its reader's language, with a Message-ID of its own", async () => {
  const config = ctx.app.deps.config;
  const due = new Date('2026-12-07T15:30:00Z');
  const n = {
    actorId: null,
    kind: 'sla_warning' as const,
    caseId: ctx.kase.id,
    summary: `${ctx.kase.number} ${ctx.kase.title}`,
    link: `/cases/${ctx.kase.number}`,
    params: { target: { key: 'sla.target.first_response' }, due: { dateTime: due.toISOString() } },
  };
  await deliver(); // what earlier tests queued
  const outboxBefore = (await ctx.db.selectFrom('outbox').select('id').execute()).length;
  // OLLE has no address (an earlier test took it): a bell, no mail
  const sent = await notifyUsers(
    ctx.db,
    [ctx.anna, ctx.kalle, ctx.olle].map((u) => ({ ...n, userId: u.id })),
    { config },
  );
  assert.equal(sent, { notified: 3, mailed: 2 });
  const queued = await ctx.db.selectFrom('outbox').selectAll().orderBy('id').execute();
  assert.is(queued.length, outboxBefore + 2);
  assert.equal(
    queued.slice(-2).map((m) => [m.message_id, m.raw]),
    [
      [null, null],
      [null, null],
    ],
    'written when they go',
  );

  const before = ctx.smtp.received.length;
  await deliver();
  const mails = (await ctx.smtp.waitFor(before + 2)).slice(before);
  const secret = await loadSecret(ctx.db, 'message-id');
  const expected = {
    'anna@example.com': {
      subject: `[#${ctx.kase.number}] Deadline near: ${ctx.kase.title}`,
      body: `First response for case ${n.summary} is due ${new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: config.timeZone }).format(due)}.`,
      open: 'Open the case:',
    },
    'kalle@example.com': {
      subject: `[#${ctx.kase.number}] Tidsgräns nära: ${ctx.kase.title}`,
      body: `Första svar i ärende ${n.summary} ska vara klart ${new Intl.DateTimeFormat('sv-SE', { dateStyle: 'medium', timeStyle: 'short', timeZone: config.timeZone }).format(due)}.`,
      open: 'Öppna ärendet:',
    },
  };
  assert.equal(mails.map((m) => m.envelopeTo[0]).sort(), Object.keys(expected));
  for (const mail of mails) {
    const want = expected[mail.envelopeTo[0] as keyof typeof expected];
    const p = mail.parsed;
    assert.is(p.subject, want.subject);
    assert.is(p.headers.get('auto-submitted'), 'auto-generated');
    assert.is(p.headers.get('x-casedesk-case'), ctx.kase.number);
    const link = `${publicUrl}/cases/${ctx.kase.number}`;
    assert.match(
      String(p.html),
      `<p>${want.body.replaceAll("'", '&#39;')}</p>\n<p>${want.open} <a href="${link}">${link}</a></p>`,
    );
    assert.match(p.text ?? '', `${publicUrl}/account`, 'says where to switch it off');
    assert.ok(isOurMessageId(p.messageId ?? '', secret));
    const row = await ctx.db
      .selectFrom('outbox')
      .select(['message_id', 'status', 'compose'])
      .where('message_id', '=', p.messageId ?? '')
      .executeTakeFirst();
    assert.equal(
      row,
      { message_id: p.messageId, status: 'sent', compose: null },
      'the Message-ID it went with is kept',
    );
  }
});

test('the bell counts up to 99 and then shows 99+, on the overview and on every other page', async () => {
  const bell = (html: string) =>
    html.match(/class="bell"[^>]*>\s*(?:<span class="badge">([^<]*)<\/span>)?/)?.[1] ?? null;
  await ctx.db.updateTable('notifications').set({ read_at: new Date() }).where('user_id', '=', ctx.olle.id).execute();
  const ring = async (n: number) =>
    notifyUsers(
      ctx.db,
      Array.from({ length: n }, (_, i) => ({
        userId: ctx.olle.id,
        actorId: ctx.kalle.id,
        kind: 'assigned' as const,
        caseId: ctx.kase.id,
        summary: `bell ${i}`,
        link: `/cases/${ctx.kase.number}`,
      })),
      { config: undefined },
    );
  const olle = await loggedIn('OLLE');
  assert.is(bell((await olle.get('/cases')).body), null);
  await ring(99);
  assert.is(bell((await olle.get('/cases')).body), '99');
  assert.is(bell((await olle.get('/account')).body), '99');
  await ring(51);
  assert.is(bell((await olle.get('/cases')).body), '99+');
  assert.is(bell((await olle.get('/account')).body), '99+');
  assert.is(bell((await olle.get(`/cases/${ctx.kase.number}`)).body), '99+');
});

test.run();
