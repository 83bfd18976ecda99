import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { quickEditCase } from '../../cases/cases.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Case, Customer, User } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { findInlineImage } from '../../documents/inline-images.ts';
import { readFileContent } from '../../files/files.ts';
import { applyKontroll, loadKontrollRunContext } from '../../kontroll/kontroll.ts';
import { seedUser, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { findCaseByNumber, receiveMail, testMail } from '../../test-support/inbound.ts';
import { seedAcme } from '../../test-support/seeds.ts';
import { createMessageId } from '../outbound/message-id.ts';
import { processInboundMessage } from './process.ts';
import { storeInboundRaw } from './store.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; config: Config; kalle: User; acme: Customer; secret: string };
const test = suite('Inbound mail pipeline');

// A 1×1 PNG.
const pixel = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const eml = testMail;
const receive = (raw: Buffer) => receiveMail(ctx.db, ctx.config, raw);
const caseByNumber = (number: string | undefined) => findCaseByNumber(ctx.db, number);

async function entriesOf(caseId: number) {
  return ctx.db.selectFrom('thread_entries').selectAll().where('case_id', '=', caseId).orderBy('id').execute();
}

const countCases = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('cases')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

async function statusId(kind: 'open' | 'waiting' | 'closed'): Promise<number> {
  const row = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', kind)
    .orderBy('position')
    .executeTakeFirstOrThrow();
  return row.id;
}

// A case made by mail from Per at Acme, to reply to.
async function caseFromPer(subject = 'Skrivaren fastnar'): Promise<Case> {
  const result = await receive(
    eml({ From: 'Per Persson <per@acme.se>', Subject: subject }, 'Pappret fastnar i fack 2.'),
  );
  assert.is(result.outcome, 'created');
  return caseByNumber(result.caseNumber);
}

// Our reply to a case went out with a signed Message-ID (as queueReplyMail does).
async function sentReply(kase: Case): Promise<string> {
  const messageId = createMessageId('casedesk.test', ctx.secret);
  await ctx.db
    .insertInto('outbox')
    .values({
      kind: 'reply',
      case_id: kase.id,
      message_id: messageId,
      envelope_from: 'support@casedesk.test',
      envelope_to: ['per@acme.se'],
      subject: `[#${kase.number}] ${kase.title}`,
      raw: Buffer.from('x'),
      status: 'sent',
    })
    .execute();
  return messageId;
}

async function closeCase(kase: Case, daysAgo: number): Promise<void> {
  const closed = await statusId('closed');
  const at = new Date(Date.now() - daysAgo * 24 * 60 * 60 * 1000);
  await ctx.db.updateTable('cases').set({ status_id: closed, closed_at: at }).where('id', '=', kase.id).execute();
  await ctx.db
    .insertInto('case_events')
    .values({
      case_id: kase.id,
      user_id: ctx.kalle.id,
      kind: 'field_changed',
      field: 'status_id',
      old_value: String(kase.status_id),
      new_value: String(closed),
      created_at: at,
    })
    .execute();
}

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig() });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.acme = (await seedAcme(ctx.db)).customer;
  ctx.secret = await loadSecret(ctx.db, 'message-id');
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_address: 'support@casedesk.test', subject_tag: '[#{number}]' })
    .execute();
  // A mailbox whose new cases go to Kalle is not needed: imports use the general defaults.
});
test.after(async () => {
  await ctx.drop();
});

test('a mail from a known contact becomes a case of that customer with the mail in E-mail IN', async () => {
  const raw = eml(
    { From: 'Per Persson <PER@acme.se>', Subject: 'SV: Re: Fwd: Skrivaren  fastnar' },
    'Hej!\nDen fastnar igen.',
  );
  const result = await receive(raw);
  assert.is(result.outcome, 'created');
  const kase = await caseByNumber(result.caseNumber);
  assert.is(kase.title, 'Skrivaren fastnar');
  assert.is(kase.customer_id, ctx.acme.id);
  assert.ok(kase.contact_id, 'the contact is set');
  assert.is(kase.unknown_sender, false);
  assert.is(kase.source, 'email');
  assert.is(kase.status_id, await statusId('open'));
  const [entry, ...more] = await entriesOf(kase.id);
  assert.is(more.length, 0);
  assert.is(entry?.side, 'customer');
  assert.is(entry?.author_name, 'Per Persson');
  assert.is(entry?.author_email, 'PER@acme.se');
  assert.is(entry?.body_html, '<div>Hej!<br>Den fastnar igen.</div>');
  assert.is(String(entry?.inbound_message_id), String(result.id));
  const docs = await ctx.db
    .selectFrom('documents')
    .innerJoin('document_folders', 'document_folders.id', 'documents.folder_id')
    .innerJoin('inbound_messages', 'inbound_messages.file_id', 'documents.file_id')
    .select(['documents.file_name', 'document_folders.system_key'])
    .where('documents.case_id', '=', kase.id)
    .execute();
  assert.equal(docs, [{ file_name: '2026-11-24 09.15 Skrivaren fastnar.eml', system_key: 'email_in' }]);
  const inbound = await ctx.db
    .selectFrom('inbound_messages')
    .selectAll()
    .where('id', '=', result.id)
    .executeTakeFirstOrThrow();
  assert.is(inbound.status, 'processed');
  assert.is(inbound.outcome, 'created');
  assert.is(inbound.case_id, kase.id);
  assert.is(String(inbound.thread_entry_id), String(entry?.id));
  assert.ok(inbound.processed_at);
});

test('a new sender at a customer domain becomes a contact of that customer', async () => {
  const result = await receive(
    eml({ From: 'Anna Ek <anna.ek@support.acme.se>', Subject: 'Ny skärm' }, 'Vi behöver en.'),
  );
  const kase = await caseByNumber(result.caseNumber);
  assert.is(kase.customer_id, ctx.acme.id);
  const contact = await ctx.db
    .selectFrom('contacts')
    .selectAll()
    .where('id', '=', kase.contact_id as number)
    .executeTakeFirstOrThrow();
  assert.equal([contact.name, contact.email, contact.customer_id], ['Anna Ek', 'anna.ek@support.acme.se', ctx.acme.id]);
  // The next mail from her finds the contact, not a second one.
  await receive(eml({ From: 'anna.ek@support.acme.se', Subject: 'Till' }, 'Och en mus.'));
  const contacts = await ctx.db
    .selectFrom('contacts')
    .select('id')
    .where('email', '=', 'anna.ek@support.acme.se')
    .execute();
  assert.is(contacts.length, 1);
});

test('a gmail sender is an unknown sender even when a customer lists gmail.com', async () => {
  await ctx.db
    .insertInto('customers')
    .values({ number: 'K9', name: 'Fel', email_domains: ['gmail.com'] })
    .execute();
  const result = await receive(eml({ From: 'Okänd <someone@gmail.com>', Subject: 'Hjälp' }, 'Hej'));
  const kase = await caseByNumber(result.caseNumber);
  assert.is(kase.customer_id, null);
  assert.is(kase.contact_id, null);
  assert.is(kase.unknown_sender, true);
  assert.is(kase.contact_email, 'someone@gmail.com');
});

test('a reply with the case tag in the subject joins that case', async () => {
  const kase = await caseFromPer();
  const before = await countCases();
  const result = await receive(
    eml({ From: 'per@acme.se', Subject: `SV: Re: [#${kase.number}] Skrivaren fastnar` }, 'Nu går det bättre.'),
  );
  assert.is(result.outcome, 'appended');
  assert.is(result.caseNumber, kase.number);
  assert.is(await countCases(), before);
  assert.is((await entriesOf(kase.id)).length, 2);
});

test('a reply to our signed Message-ID joins its case, without a tag', async () => {
  const kase = await caseFromPer('Skannern');
  const ours = await sentReply(kase);
  const result = await receive(
    eml({ From: 'per@acme.se', Subject: 'Re: något helt annat', 'In-Reply-To': ours, References: ours }, 'Tack!'),
  );
  assert.is(result.outcome, 'appended');
  assert.is(result.caseNumber, kase.number);
});

test('a reference dressed as ours but with a wrong signature is not trusted', async () => {
  const kase = await caseFromPer('Faxen');
  const forged = '<cd.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB@casedesk.test>';
  // Even stored on an entry of the case, a forged id must not lead there.
  await ctx.db.updateTable('thread_entries').set({ message_id: forged }).where('case_id', '=', kase.id).execute();
  const result = await receive(eml({ From: 'per@acme.se', Subject: 'Re: Faxen', 'In-Reply-To': forged }, 'Hej'));
  assert.is(result.outcome, 'created');
  assert.is.not(result.caseNumber, kase.number);
});

test('a reply to a case waiting for the customer opens it and tells the responsible', async () => {
  const kase = await caseFromPer('Väntande');
  await ctx.db
    .updateTable('cases')
    .set({ status_id: await statusId('waiting'), responsible_id: ctx.kalle.id })
    .where('id', '=', kase.id)
    .execute();
  const result = await receive(
    eml({ From: 'per@acme.se', Subject: `Re: [#${kase.number}] Väntande` }, 'Här är svaret.'),
  );
  assert.is(result.outcome, 'appended');
  const after = await caseByNumber(kase.number);
  assert.is(after.status_id, await statusId('open'));
  const notes = await ctx.db.selectFrom('notifications').selectAll().where('case_id', '=', kase.id).execute();
  assert.equal(
    notes.map((n) => [n.user_id, n.kind, n.link]),
    [[ctx.kalle.id, 'customer_replied', `/cases/${kase.number}`]],
  );
  const events = await ctx.db
    .selectFrom('case_events')
    .select(['kind', 'field'])
    .where('case_id', '=', kase.id)
    .execute();
  assert.ok(events.some((e) => e.kind === 'field_changed' && e.field === 'status_id'));
  assert.ok(events.some((e) => e.kind === 'mail_received'));
});

test('a reply to a case closed a few days ago reopens it', async () => {
  const kase = await caseFromPer('Nyss stängd');
  await closeCase(kase, 3);
  const result = await receive(eml({ From: 'per@acme.se', Subject: `SV: [#${kase.number}] Nyss stängd` }, 'Igen!'));
  assert.is(result.outcome, 'reopened');
  assert.is(result.caseNumber, kase.number);
  assert.is((await caseByNumber(kase.number)).status_kind, 'open');
  const reopened = await ctx.db
    .selectFrom('case_events')
    .select('kind')
    .where('case_id', '=', kase.id)
    .where('kind', '=', 'reopened')
    .execute();
  assert.is(reopened.length, 1);
});

// Issue 14, bug 1: Kontroll's close event carried no field, so the reopen window was measured
// from the status change before it (here: set to Waiting 20 days ago) and the reply became a new case.
test('a reply minutes after Kontroll closed the case reopens it, however long it waited before', async () => {
  const kase = await caseFromPer('Tyst kund');
  await quickEditCase(ctx.db, kase.id, kase.version, 'status_id', String(await statusId('waiting')), ctx.kalle);
  const twentyDaysAgo = new Date(Date.now() - 20 * 24 * 60 * 60 * 1000);
  await ctx.db.updateTable('case_events').set({ created_at: twentyDaysAgo }).where('case_id', '=', kase.id).execute();
  await ctx.db
    .updateTable('cases')
    .set({ waiting_since: twentyDaysAgo, last_activity_at: twentyDaysAgo })
    .where('id', '=', kase.id)
    .execute();
  await ctx.db.updateTable('case_settings').set({ kontroll_close_enabled: true, kontroll_close_days: 14 }).execute();
  const run = await loadKontrollRunContext(ctx.db, ctx.config, new Date(), null);
  assert.is(await applyKontroll(ctx.db, kase.id, run), 'close');
  assert.is((await caseByNumber(kase.number)).status_kind, 'closed');

  const result = await receive(
    eml({ From: 'per@acme.se', Subject: `Re: [#${kase.number}] Tyst kund` }, 'Förlåt, jag var bortrest.'),
  );
  assert.is(result.outcome, 'reopened');
  assert.is(result.caseNumber, kase.number);
  const after = await caseByNumber(kase.number);
  assert.equal([after.status_kind, after.closed_at], ['open', null]);
});

test('a reply to a case closed long ago opens a new case linked to the old one', async () => {
  const kase = await caseFromPer('Länge sedan');
  await closeCase(kase, 30);
  const result = await receive(eml({ From: 'per@acme.se', Subject: `SV: [#${kase.number}] Länge sedan` }, 'Igen!'));
  assert.is(result.outcome, 'new_linked');
  const fresh = await caseByNumber(result.caseNumber);
  assert.is.not(fresh.id, kase.id);
  assert.is(fresh.previous_case_id, kase.id);
  assert.is(fresh.title, 'Länge sedan');
  assert.is(fresh.customer_id, ctx.acme.id);
  assert.is((await caseByNumber(kase.number)).status_kind, 'closed');
  // linked as its child (src/case-links/), so both list the other under "Linked cases"
  const link = await ctx.db.selectFrom('case_links').selectAll().where('to_case_id', '=', fresh.id).executeTakeFirst();
  assert.equal([link?.kind, link?.from_case_id], ['parent', kase.id]);
});

test('processing a message twice, or the same message stored twice, makes one case', async () => {
  const raw = eml({ From: 'per@acme.se', Subject: 'Dubbel' }, 'En gång');
  const first = await receive(raw);
  assert.is(first.outcome, 'created');
  const before = await countCases();
  const again = await processInboundMessage(ctx.db, ctx.config, first.id);
  assert.is(again.outcome, 'duplicate');
  assert.is(again.caseNumber, first.caseNumber);
  const storedAgain = await receive(raw);
  assert.is(storedAgain.outcome, 'duplicate');
  assert.is(storedAgain.caseNumber, first.caseNumber);
  assert.is(await countCases(), before);
  // Two processings of the same row at once: one wins, the other sees it done.
  const racer = await storeInboundRaw(ctx.db, eml({ From: 'per@acme.se', Subject: 'Samtidigt' }, 'x'), {
    source: 'import',
  });
  const both = await Promise.all([
    processInboundMessage(ctx.db, ctx.config, racer.id),
    processInboundMessage(ctx.db, ctx.config, racer.id),
  ]);
  assert.equal(both.map((r) => r.outcome).sort(), ['created', 'duplicate']);
  assert.is(await countCases(), before + 1);
  // The same mail stored twice (two mailboxes) and processed at the same moment: one case.
  const twice = eml({ From: 'per@acme.se', Subject: 'Två brevlådor' }, 'y');
  const [a, b] = await Promise.all([
    storeInboundRaw(ctx.db, twice, { source: 'import' }),
    storeInboundRaw(ctx.db, twice, { source: 'import' }),
  ]);
  const outcomes = await Promise.all([a, b].map((s) => processInboundMessage(ctx.db, ctx.config, s.id)));
  assert.equal(outcomes.map((r) => r.outcome).sort(), ['created', 'duplicate']);
  assert.is(await countCases(), before + 2);
});

test('an out-of-office never creates a case, and joins a known case without reopening it', async () => {
  const before = await countCases();
  const stray = await receive(
    eml({ From: 'per@acme.se', Subject: 'Frånvaro: Hej', 'Auto-Submitted': 'auto-replied' }, 'Jag är borta.'),
  );
  assert.is(stray.outcome, 'auto_reply');
  assert.is(await countCases(), before);

  const kase = await caseFromPer('Med frånvaro');
  const waiting = await statusId('waiting');
  await ctx.db
    .updateTable('cases')
    .set({ status_id: waiting, responsible_id: ctx.kalle.id })
    .where('id', '=', kase.id)
    .execute();
  const ours = await sentReply(kase);
  const result = await receive(
    eml(
      {
        From: 'per@acme.se',
        Subject: 'Automatiskt svar: Med frånvaro',
        'X-Auto-Response-Suppress': 'All',
        'In-Reply-To': ours,
      },
      'Jag är på semester till måndag.',
    ),
  );
  assert.is(result.outcome, 'auto_reply');
  assert.is(result.caseNumber, kase.number);
  assert.is((await caseByNumber(kase.number)).status_id, waiting, 'still waiting');
  assert.is((await entriesOf(kase.id)).length, 2);
  const notes = await ctx.db.selectFrom('notifications').select('id').where('case_id', '=', kase.id).execute();
  assert.is(notes.length, 0);
  const queued = await ctx.db.selectFrom('outbox').select('id').where('case_id', '=', kase.id).execute();
  assert.is(queued.length, 1, 'nothing sent in answer');
});

test('a bounce of our reply marks that delivery failed, notes it in the case and creates nothing', async () => {
  const kase = await caseFromPer('Studsar');
  const ours = await sentReply(kase);
  const before = await countCases();
  const boundary = 'dsn-boundary';
  const raw = eml(
    {
      From: 'Mail Delivery System <MAILER-DAEMON@mx.acme.se>',
      Subject: 'Undelivered Mail Returned to Sender',
      'Auto-Submitted': 'auto-replied',
      'Content-Type': `multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    },
    [
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'I could not deliver your message to <per@acme.se>.',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.acme.se',
      '',
      'Final-Recipient: rfc822; per@acme.se',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <per@acme.se>: Recipient address rejected',
      `--${boundary}`,
      'Content-Type: message/rfc822',
      '',
      'From: Casedesk <support@casedesk.test>',
      'To: per@acme.se',
      `Subject: [#${kase.number}] Studsar`,
      `Message-ID: ${ours}`,
      `X-Casedesk-Case: ${kase.number}`,
      '',
      'Vårt svar.',
      `--${boundary}--`,
      '',
    ].join('\n'),
  );
  const result = await receive(raw);
  assert.is(result.outcome, 'bounce');
  assert.is(result.caseNumber, kase.number);
  assert.is(await countCases(), before);
  const outbox = await ctx.db
    .selectFrom('outbox')
    .select(['status', 'last_error'])
    .where('message_id', '=', ours)
    .executeTakeFirstOrThrow();
  assert.is(outbox.status, 'failed');
  assert.match(outbox.last_error ?? '', 'Recipient address rejected');
  const entries = await entriesOf(kase.id);
  assert.is(entries.at(-1)?.side, 'system');
  assert.is((await caseByNumber(kase.number)).status_kind, 'open');
  const inbound = await ctx.db
    .selectFrom('inbound_messages')
    .select(['status', 'outcome'])
    .where('id', '=', result.id)
    .executeTakeFirstOrThrow();
  assert.equal(inbound, { status: 'ignored', outcome: 'bounce' });

  // A bounce of something that is not ours is only kept.
  const stray = await receive(
    eml({ From: 'MAILER-DAEMON@mx.example.com', Subject: 'Mail delivery failed: returning message to sender' }, 'x'),
  );
  assert.is(stray.outcome, 'bounce');
  assert.is(stray.caseNumber, undefined);
  assert.is(await countCases(), before);
});

test('our own mail coming back is ignored', async () => {
  const ours = createMessageId('casedesk.test', ctx.secret);
  const result = await receive(eml({ From: 'someone@acme.se', Subject: 'Loop', 'Message-ID': ours }, 'x'));
  assert.is(result.outcome, 'own');
  const fromUs = await receive(eml({ From: 'Casedesk <support@casedesk.test>', Subject: 'Loop 2' }, 'x'));
  assert.is(fromUs.outcome, 'own');
});

test('an inline cid: image shows in place through /uploads/images', async () => {
  const raw = eml(
    { From: 'per@acme.se', Subject: 'Bild', 'Content-Type': 'multipart/related; boundary="rel"' },
    [
      '--rel',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><p>Se bilden:</p><img src="cid:bild1@acme.se" alt="skärmdump"></body></html>',
      '--rel',
      'Content-Type: image/png; name="bild.png"',
      'Content-Transfer-Encoding: base64',
      'Content-ID: <bild1@acme.se>',
      'Content-Disposition: inline; filename="bild.png"',
      '',
      pixel.toString('base64'),
      '--rel--',
      '',
    ].join('\n'),
  );
  const result = await receive(raw);
  const kase = await caseByNumber(result.caseNumber);
  const [entry] = await entriesOf(kase.id);
  const token = /<img[^>]*src="\/uploads\/images\/([A-Za-z0-9_-]{43})"/.exec(entry?.body_html ?? '')?.[1];
  assert.ok(token, `an /uploads/images URL in ${entry?.body_html}`);
  const image = await findInlineImage(ctx.db, token as string);
  assert.is(image?.content_type, 'image/png');
  assert.ok((await readFileContent(ctx.db, image?.file_id as string)).equals(pixel));
  // Shown in the text, so not a document as well.
  const docs = await ctx.db.selectFrom('documents').select('file_name').where('case_id', '=', kase.id).execute();
  assert.is(docs.length, 1, 'only the .eml');
});

test('remote images do not load: their source becomes a link to show on request', async () => {
  const raw = eml(
    { From: 'per@acme.se', Subject: 'Nyhetsbrev', 'Content-Type': 'text/html; charset=utf-8' },
    '<p>Hej</p><img src="https://tracker.example/pixel.gif" width="1" height="1">' +
      '<img src="https://cdn.example/logo.png" alt="Logo" width="200"><script>alert(1)</script>' +
      '<p style="color:red" onclick="x()">Text</p>',
  );
  const result = await receive(raw);
  const [entry] = await entriesOf((await caseByNumber(result.caseNumber)).id);
  const html = entry?.body_html ?? '';
  assert.not.match(html, /<img[^>]+https?:/, 'no remote <img>');
  assert.not.match(html, 'tracker.example', 'the tracking pixel is gone');
  assert.match(html, 'data-remote-src="https://cdn.example/logo.png"');
  assert.not.match(html, /script|style=|onclick/);
});

test('quoted history is folded away below the new text', async () => {
  const html = await receive(
    eml(
      { From: 'per@acme.se', Subject: 'Re: Gmail', 'Content-Type': 'text/html; charset=utf-8' },
      '<div dir="ltr">Ja, det fungerar nu.</div><br><div class="gmail_quote"><div class="gmail_attr">Den tis 24 nov. 2026 kl 09:00 skrev Casedesk &lt;support@casedesk.test&gt;:<br></div>' +
        '<blockquote class="gmail_quote">Fungerar det?</blockquote></div>',
    ),
  );
  const [htmlEntry] = await entriesOf((await caseByNumber(html.caseNumber)).id);
  assert.match(
    htmlEntry?.body_html ?? '',
    /^<div>Ja, det fungerar nu\.<\/div><br \/><details class="quoted"><summary>···<\/summary><div class="gmail_quote">/,
  );

  const text = await receive(
    eml(
      { From: 'per@acme.se', Subject: 'Re: Text' },
      'Tack, nu fungerar det.\n\nOn Tue, Nov 24, 2026 at 9:00 AM Casedesk <support@casedesk.test> wrote:\n> Fungerar det?\n> /Kalle\n',
    ),
  );
  const [textEntry] = await entriesOf((await caseByNumber(text.caseNumber)).id);
  assert.is(
    textEntry?.body_html,
    '<div>Tack, nu fungerar det.<br></div><details class="quoted"><summary>···</summary><div>On Tue, Nov 24, 2026 at 9:00 AM Casedesk &lt;support@casedesk.test&gt; wrote:<br>&gt; Fungerar det?<br>&gt; /Kalle</div></details>',
  );
});

test('a Swedish Outlook reply in ISO-8859-1 reads right, with its quote folded', async () => {
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const qp = (text: string) =>
    [...latin1(text)]
      .map((b) => (b > 126 || b === 61 ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b)))
      .join('');
  const kase = await caseFromPer('Fakturan är fel');
  const raw = Buffer.concat([
    latin1(
      [
        'From: =?iso-8859-1?Q?Per_=D6stberg?= <per@acme.se>',
        'To: support@casedesk.test',
        `Subject: =?iso-8859-1?Q?SV:_[#${kase.number}]_Fakturan_=E4r_fel?=`,
        'Message-ID: <AM0PR01MB1234@eurprd01.prod.outlook.com>',
        'Date: Tue, 24 Nov 2026 10:02:00 +0000',
        'Content-Language: sv-SE',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset="iso-8859-1"',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '',
      ].join('\r\n'),
    ),
    latin1(
      [
        qp('Hej, åäö ÅÄÖ - beloppet ska vara 1 200 kr.'),
        '',
        qp('Med vänlig hälsning'),
        qp('Per Östberg'),
        '',
        qp('Från: Casedesk <support@casedesk.test>'),
        qp('Skickat: den 24 november 2026 09:00'),
        qp('Till: Per Östberg <per@acme.se>'),
        qp(`Ämne: [#${kase.number}] Fakturan är fel`),
        '',
        qp('Vilket belopp gäller?'),
        '',
      ].join('\r\n'),
    ),
  ]);
  const result = await receive(raw);
  assert.is(result.outcome, 'appended');
  assert.is(result.caseNumber, kase.number);
  const entry = (await entriesOf(kase.id)).at(-1);
  assert.is(entry?.author_name, 'Per Östberg');
  assert.match(
    entry?.body_html ?? '',
    /^<div>Hej, åäö ÅÄÖ - beloppet ska vara 1 200 kr\.<br><br>Med vänlig hälsning<br>Per Östberg<br><\/div><details class="quoted">/,
  );
  assert.match(entry?.body_html ?? '', 'Från: Casedesk &lt;support@casedesk.test&gt;<br>Skickat: den 24 november 2026');
  assert.match(entry?.body_html ?? '', 'Ämne: [#');
});

test('an RFC 2231 file name survives as the document name', async () => {
  const raw = eml(
    { From: 'per@acme.se', Subject: 'Offert', 'Content-Type': 'multipart/mixed; boundary="mix"' },
    [
      '--mix',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Offerten bifogad.',
      '--mix',
      "Content-Type: application/pdf; name*=UTF-8''offert%20%C3%A5%C3%A4%C3%B6.pdf",
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment;',
      " filename*0*=UTF-8''offert%20%C3%A5;",
      ' filename*1*=%C3%A4%C3%B6.pdf',
      '',
      Buffer.from('%PDF-1.4 test').toString('base64'),
      '--mix--',
      '',
    ].join('\n'),
  );
  const result = await receive(raw);
  const kase = await caseByNumber(result.caseNumber);
  const docs = await ctx.db
    .selectFrom('documents')
    .innerJoin('files', 'files.id', 'documents.file_id')
    .select(['documents.file_name', 'files.content_type'])
    .where('documents.case_id', '=', kase.id)
    .orderBy('documents.id')
    .execute();
  assert.equal(docs.at(-1), { file_name: 'offert åäö.pdf', content_type: 'application/pdf' });
});

test('a message over the size limit is kept as failed with the reason, and a retry can pass', async () => {
  await ctx.db.updateTable('case_settings').set({ max_inbound_mb: 1 }).execute();
  const big = eml({ From: 'per@acme.se', Subject: 'Stor' }, 'x'.repeat(1024 * 1024 + 10));
  const result = await receive(big);
  assert.is(result.outcome, 'failed');
  assert.match(result.error ?? '', 'larger than the limit of 1 MB');
  const row = await ctx.db
    .selectFrom('inbound_messages')
    .select(['status', 'error', 'attempts'])
    .where('id', '=', result.id)
    .executeTakeFirstOrThrow();
  assert.is(row.status, 'failed');
  assert.is(row.attempts, 1);
  await ctx.db.updateTable('case_settings').set({ max_inbound_mb: 25 }).execute();
  const retry = await processInboundMessage(ctx.db, ctx.config, result.id);
  assert.is(retry.outcome, 'created');
});

test.run();
