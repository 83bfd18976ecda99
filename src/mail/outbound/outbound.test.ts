import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startApprovalIfRequired } from '../../approvals/chains.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Case, User } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { addCaseDocument } from '../../documents/documents.ts';
import { storeInlineImage } from '../../documents/inline-images.ts';
import { seedUser, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../../test-support/seeds.ts';
import { startTestSmtpServer } from '../../test-support/smtp.ts';
import { addStaffReply, listThreadEntries } from '../../threads/threads.ts';
import { subjectWithTag } from './compose.ts';
import { isOurMessageId } from './message-id.ts';
import { createMailSender } from './sender.ts';

const pixel = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  config: Config;
  kalle: User;
  kase: Case;
};
const test = suite('Outgoing mail over real SMTP');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.smtp = await startTestSmtpServer();
  ctx.config = testConfig({ SMTP_URL: ctx.smtp.url });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, contact.id);
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Åkes Support', from_address: 'support@casedesk.test', reply_to_address: 'inbox@casedesk.test' })
    .execute();
  // The customer's first message arrived by mail and carries its own Message-ID.
  await ctx.db
    .updateTable('thread_entries')
    .set({ message_id: '<kund-1@acme.se>' })
    .where('case_id', '=', ctx.kase.id)
    .execute();
  await ctx.db.updateTable('cases').set({ title: 'Skrivaren fastnar – åäö' }).where('id', '=', ctx.kase.id).execute();
});
test.after(async () => {
  await ctx.smtp.close();
  await ctx.drop();
});

// One sender run, then its SMTP connections are closed (as on shutdown).
const deliver = async (config = ctx.config) => {
  const sender = createMailSender({ db: ctx.db, config, log: () => {} });
  await sender.runOnce();
  await sender.stop();
};

test('a reply with a pasted image and a document reaches the customer as one threaded e-mail', async () => {
  const image = await storeInlineImage(ctx.db, {
    content: Readable.from([pixel]),
    user: ctx.kalle,
    maxBytes: 1_000_000,
    caseId: ctx.kase.id,
  });
  const imageUrl = `/uploads/images/${image.token}`;
  const doc = await addCaseDocument(ctx.db, {
    caseId: ctx.kase.id,
    folderId: (
      await ctx.db.selectFrom('document_folders').select('id').where('system_key', 'is', null).executeTakeFirstOrThrow()
    ).id,
    fileName: 'offert-ö.pdf',
    contentType: 'application/pdf',
    stream: Buffer.from('%PDF-1.4 offert'),
    user: ctx.kalle,
    maxBytes: 1_000_000,
    startApproval: startApprovalIfRequired,
  });
  const entry = await addStaffReply(
    ctx.db,
    ctx.kase.id,
    {
      body_html: `<div>Hej Per! Prova fack två, så här: <figure><img src="${imageUrl}"></figure> Hälsningar Kalle</div>`,
      delivery: 'to_send',
      to: ['per@acme.se'],
      cc: ['chef@acme.se'],
      document_ids: [doc.id],
    },
    ctx.kalle,
    { config: ctx.config },
  );
  assert.is(ctx.smtp.received.length, 0, 'nothing is sent inside the request');
  await deliver();
  const [mail] = await ctx.smtp.waitFor(1);
  assert.ok(mail);
  const p = mail.parsed;
  assert.equal(mail.envelopeTo.sort(), ['chef@acme.se', 'per@acme.se']);
  assert.is(mail.envelopeFrom, 'support@casedesk.test');
  assert.equal(p.from?.value, [{ name: 'Åkes Support', address: 'support@casedesk.test' }]);
  assert.is(p.replyTo?.value[0]?.address, 'inbox@casedesk.test');
  assert.is(p.subject, `[#${ctx.kase.number}] Skrivaren fastnar – åäö`);
  assert.match(p.text ?? '', 'Hej Per! Prova fack två');
  assert.match(String(p.html), 'Hälsningar Kalle');
  const inline = p.attachments.find((a) => a.contentDisposition === 'inline');
  assert.ok(inline?.cid, 'the image is an inline part with a Content-ID');
  assert.match(String(p.html), `cid:${inline.cid}`);
  assert.is(
    createHash('sha256').update(inline.content).digest('hex'),
    createHash('sha256').update(pixel).digest('hex'),
  );
  const pdf = p.attachments.find((a) => a.filename === 'offert-ö.pdf');
  assert.is(pdf?.content.toString(), '%PDF-1.4 offert');
  assert.ok(p.messageId && isOurMessageId(p.messageId, await loadSecret(ctx.db, 'message-id')));
  assert.is(p.inReplyTo, '<kund-1@acme.se>');
  assert.equal([p.references].flat(), ['<kund-1@acme.se>']);
  const stored = await ctx.db
    .selectFrom('thread_entries')
    .select('message_id')
    .where('id', '=', entry.id)
    .executeTakeFirstOrThrow();
  assert.is(stored.message_id, p.messageId);

  const copy = await ctx.db
    .selectFrom('documents')
    .innerJoin('document_folders', 'document_folders.id', 'documents.folder_id')
    .leftJoin('document_versions', 'document_versions.document_id', 'documents.id')
    .select(['documents.file_name', 'document_versions.version', 'documents.created_by'])
    .where('documents.case_id', '=', ctx.kase.id)
    .where('document_folders.system_key', '=', 'email_out')
    .execute();
  // KALLE sent it: the copy and the history's "E-mail sent" name him, not the system
  assert.is(copy[0]?.created_by, ctx.kalle.id);
  const sentEvent = await ctx.db
    .selectFrom('case_events')
    .select('user_id')
    .where('case_id', '=', ctx.kase.id)
    .where('kind', '=', 'email_sent')
    .executeTakeFirstOrThrow();
  assert.is(sentEvent.user_id, ctx.kalle.id);
  assert.is(copy.length, 1, 'a copy lands in E-mail OUT');
  // named like an E-mail IN copy: local date and time, then the subject without the case tag
  assert.match(copy[0]?.file_name ?? '', /^\d{4}-\d{2}-\d{2} \d{2}\.\d{2} Skrivaren fastnar – åäö\.eml$/);
  assert.is(copy[0]?.version, 1, 'as its version 1, so a new version keeps it');
  const thread = await listThreadEntries(ctx.db, ctx.kase.id);
  assert.is(thread[0]?.mail_status, 'sent');
});

test('a temporary failure is retried later with the same Message-ID', async () => {
  ctx.smtp.setAnswer((n) => (n === 2 ? 451 : 250));
  const before = ctx.smtp.received.length;
  await addStaffReply(
    ctx.db,
    ctx.kase.id,
    { body_html: '<div>Andra svaret</div>', delivery: 'to_send', to: ['per@acme.se'] },
    ctx.kalle,
    {
      config: ctx.config,
    },
  );
  await deliver();
  const queued = await ctx.db.selectFrom('outbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.is(queued.status, 'queued');
  assert.is(queued.attempts, 1);
  assert.match(queued.last_error ?? '', 'Try again later');
  assert.ok(new Date(queued.next_attempt_at).getTime() > Date.now() + 50_000, 'the next try waits about a minute');
  await ctx.db.updateTable('outbox').set({ next_attempt_at: new Date() }).where('id', '=', queued.id).execute();
  await deliver();
  await ctx.smtp.waitFor(before + 1);
  const sent = await ctx.db.selectFrom('outbox').selectAll().where('id', '=', queued.id).executeTakeFirstOrThrow();
  assert.is(sent.status, 'sent');
  assert.is(sent.attempts, 2);
  assert.is(ctx.smtp.received.at(-1)?.parsed.messageId, queued.message_id);
});

test("a permanent failure is shown in the thread with the server's words", async () => {
  ctx.smtp.setAnswer(() => 550);
  await addStaffReply(
    ctx.db,
    ctx.kase.id,
    { body_html: '<div>Tredje</div>', delivery: 'to_send', to: ['nobody@acme.se'] },
    ctx.kalle,
    {
      config: ctx.config,
    },
  );
  await deliver();
  const thread = await listThreadEntries(ctx.db, ctx.kase.id);
  assert.is(thread[0]?.mail_status, 'failed');
  assert.match(thread[0]?.mail_error ?? '', 'Mailbox unavailable');
  ctx.smtp.setAnswer(() => 250);
});

test('without an SMTP server the mail waits in the outbox and says why', async () => {
  const noServer = testConfig();
  await addStaffReply(
    ctx.db,
    ctx.kase.id,
    { body_html: '<div>Fjärde</div>', delivery: 'to_send', to: ['per@acme.se'] },
    ctx.kalle,
    {
      config: noServer,
    },
  );
  await deliver(noServer);
  const row = await ctx.db.selectFrom('outbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.is(row.status, 'queued');
  assert.is(row.last_error, 'not sent: no SMTP server configured');
  // Once a server is there, the same message goes.
  await ctx.db.updateTable('outbox').set({ next_attempt_at: new Date() }).where('id', '=', row.id).execute();
  const before = ctx.smtp.received.length;
  await deliver();
  await ctx.smtp.waitFor(before + 1);
});

test('a message claimed by a sender that died is released and sent by another', async () => {
  await addStaffReply(
    ctx.db,
    ctx.kase.id,
    { body_html: '<div>Femte</div>', delivery: 'to_send', to: ['per@acme.se'] },
    ctx.kalle,
    {
      config: ctx.config,
    },
  );
  const row = await ctx.db.selectFrom('outbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
  await ctx.db
    .updateTable('outbox')
    .set({ status: 'sending', attempts: 1, locked_until: new Date(Date.now() - 1000) })
    .where('id', '=', row.id)
    .execute();
  const before = ctx.smtp.received.length;
  await deliver();
  await ctx.smtp.waitFor(before + 1);
  assert.is(
    (await ctx.db.selectFrom('outbox').select('status').where('id', '=', row.id).executeTakeFirstOrThrow()).status,
    'sent',
  );
});

test('two senders at once deliver each message exactly once', async () => {
  const before = ctx.smtp.received.length;
  for (let i = 0; i < 30; i++) {
    await addStaffReply(
      ctx.db,
      ctx.kase.id,
      { body_html: `<div>Svar ${i}</div>`, delivery: 'to_send', to: ['per@acme.se'] },
      ctx.kalle,
      {
        config: ctx.config,
      },
    );
  }
  await Promise.all([deliver(), deliver(), deliver()]);
  await ctx.smtp.waitFor(before + 30);
  const ids = ctx.smtp.received.slice(before).map((m) => m.parsed.messageId);
  assert.is(ids.length, 30);
  assert.is(new Set(ids).size, 30);
  const left = await ctx.db
    .selectFrom('outbox')
    .select('id')
    .where('status', '<>', 'sent')
    .where('status', '<>', 'failed')
    .execute();
  assert.is(left.length, 0);
});

test('a slow server: the claim is renewed while it holds DATA, so a second sender never sends the message too', async () => {
  // A claim of 2 s, renewed every 0.67 s; the server answers this message's DATA after 5 s.
  const claimMs = 2000;
  const before = ctx.smtp.received.length;
  const slowAttempt = ctx.smtp.attempts() + 1;
  ctx.smtp.setHold((n) => (n === slowAttempt ? 2.5 * claimMs : 0));
  try {
    await addStaffReply(
      ctx.db,
      ctx.kase.id,
      { body_html: '<div>Långsamt svar</div>', delivery: 'to_send', to: ['per@acme.se'] },
      ctx.kalle,
      { config: ctx.config },
    );
    const row = await ctx.db.selectFrom('outbox').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    const slow = createMailSender({ db: ctx.db, config: ctx.config, log: () => {}, claimMs });
    const slowRun = slow.runOnce();
    const status = async () =>
      (await ctx.db.selectFrom('outbox').select('status').where('id', '=', row.id).executeTakeFirstOrThrow()).status;
    while ((await status()) === 'queued') await new Promise((resolve) => setTimeout(resolve, 20));
    // Once the first has claimed it, a second instance looks for work all the while, as its
    // interval would have it do.
    const other = createMailSender({ db: ctx.db, config: ctx.config, log: () => {}, claimMs });
    let otherSent = 0;
    let settled = false;
    void slowRun.finally(() => {
      settled = true;
    });
    while (!settled) {
      otherSent += await other.runOnce();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.is(await slowRun, 1, 'the first sender sent it');
    await Promise.all([slow.stop(), other.stop()]);
    assert.is(otherSent, 0, 'the second sender found nothing to send');
    const arrived = ctx.smtp.received.slice(before).filter((m) => m.parsed.messageId === row.message_id);
    assert.is(arrived.length, 1, 'the customer got the mail once');
    const sent = await ctx.db.selectFrom('outbox').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    assert.is(sent.status, 'sent');
    assert.is(sent.attempts, 1);
  } finally {
    ctx.smtp.setHold(() => 0);
  }
});

test('the case tag is never doubled', () => {
  assert.is(subjectWithTag('[#{number}]', '2026-00042', 'Skrivaren'), '[#2026-00042] Skrivaren');
  assert.is(subjectWithTag('[#{number}]', '2026-00042', '[#2026-00042] Skrivaren'), '[#2026-00042] Skrivaren');
  assert.is(subjectWithTag('Ärende {number}:', '7', 'Ärende 7: Hej'), 'Ärende 7: Hej');
});

test('a reply to be sent needs an address', async () => {
  try {
    await addStaffReply(ctx.db, ctx.kase.id, { body_html: '<div>x</div>', delivery: 'to_send', to: [] }, ctx.kalle, {
      config: ctx.config,
    });
    assert.unreachable();
  } catch (error) {
    assert.equal((error as { fields?: unknown }).fields, { to: 'errors.recipient_required' });
  }
});

test.run();
