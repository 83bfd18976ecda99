import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Case, User } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { readFileContent } from '../../files/files.ts';
import { parseForm } from '../../forms/form.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { startTestImapServer, type TestImapServer } from '../../test-support/imap.ts';
import { seedAcme, seedPrinterJamCase } from '../../test-support/seeds.ts';
import { needs } from '../../test-support/system-packages.ts';
import { createMessageId } from '../outbound/message-id.ts';
import { readMailbox } from './fetch.ts';
import { createMailbox, type Mailbox, mailboxSchema } from './mailboxes.ts';
import { processInboundMessage } from './process.ts';
import { storeInboundRaw } from './store.ts';

// One bad message must never stop a mailbox: PostgreSQL refuses a NUL in text, so a decoded NUL
// anywhere once made every retry fail, and a NUL or an oversized Message-ID made the store fail
// and the read run stop before the UID was marked, on every run.

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  imap: TestImapServer;
  config: Config;
  app: FastifyInstance;
  kalle: User;
  kase: Case;
};
// Two suites, each on a database of its own: mail read from a real Dovecot, and mail handed to
// the pipeline as an import is (or as a server that passes NULs on would), which needs no Dovecot.
const test = needs('dovecot', suite('One bad message never stops a mailbox (real Dovecot)'));
const pipeline = suite('Bad mail through the pipeline (an import, or a server that passes NULs on)');

async function setUp(): Promise<void> {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.config = testConfig();
  ctx.app = await buildTestApp(ctx.db);
  await seedUser(ctx.db, 'ADMIN', 'admin');
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, contact.id);
}
async function tearDown(): Promise<void> {
  await ctx.app.close();
  await ctx.drop();
}

test.before(async () => {
  await setUp();
  ctx.imap = await startTestImapServer();
});
test.after(async () => {
  await ctx.imap.close();
  await tearDown();
});
pipeline.before(setUp);
pipeline.after(tearDown);

let folders = 0;
async function freshMailbox(): Promise<Mailbox> {
  folders += 1;
  const form = parseForm(mailboxSchema, {
    name: `Trasig post ${folders}`,
    imap_host: ctx.imap.host,
    imap_port: String(ctx.imap.port),
    imap_security: 'none',
    imap_user: ctx.imap.user,
    imap_password: ctx.imap.password,
    folder: `Bad${folders}`,
    after_read: 'seen',
  });
  if (!form.ok) throw new Error(`bad test mailbox: ${JSON.stringify(form.errors)}`);
  return createMailbox(ctx.db, form.data);
}

let seq = 0;
// A raw RFC 822 message as bytes: a NUL written as \0 below is a real 0x00 byte on the wire.
function eml(opts: { subject: string; messageId?: string; headers?: string[]; body: string }): Buffer {
  seq += 1;
  const head = [
    'From: Per Persson <per@acme.se>',
    'To: support@casedesk.test',
    `Subject: ${opts.subject}`,
    'Date: Wed, 02 Dec 2026 09:15:00 +0100',
    `Message-ID: ${opts.messageId ?? `<bad-${seq}-${Date.now()}@acme.se>`}`,
    'MIME-Version: 1.0',
    ...(opts.headers ?? ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit']),
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${opts.body.replace(/\r?\n/g, '\r\n')}`, 'utf8');
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const seen = (flags: string[] | undefined) => Boolean(flags?.includes('\\Seen'));

function inboundRows(mailbox: Mailbox) {
  return ctx.db
    .selectFrom('inbound_messages')
    .selectAll()
    .where('mailbox_id', '=', mailbox.id)
    .orderBy('uid')
    .execute();
}

// What an agent sees of a stored message: its case's title, its thread entry, its documents.
async function shown(inboundId: string) {
  const row = await ctx.db
    .selectFrom('inbound_messages')
    .leftJoin('cases', 'cases.id', 'inbound_messages.case_id')
    .leftJoin('thread_entries', 'thread_entries.id', 'inbound_messages.thread_entry_id')
    .select([
      'inbound_messages.status',
      'inbound_messages.outcome',
      'inbound_messages.message_id',
      'inbound_messages.error',
      'cases.id as case_id',
      'cases.title',
      'thread_entries.body_html',
      'thread_entries.author_name',
      'thread_entries.message_id as entry_message_id',
    ])
    .where('inbound_messages.id', '=', inboundId)
    .executeTakeFirstOrThrow();
  const documents = row.case_id
    ? await ctx.db
        .selectFrom('documents')
        .select('file_name')
        .where('case_id', '=', row.case_id)
        .orderBy('id')
        .execute()
    : [];
  return { ...row, documents: documents.map((d) => d.file_name) };
}

test('NULs in subject, body, Message-ID and file name: each becomes its case or reply without them, and every UID is marked', async () => {
  const mailbox = await freshMailbox();
  const boundary = 'grans-1';
  const messages = [
    // a raw NUL in the subject (Dovecot drops raw NULs from BODY[]; other servers pass them on)
    eml({ subject: 'Skrivaren\0 fastnar (r\u00e5)', body: 'Hej!\n' }),
    // a NUL inside an encoded word
    eml({ subject: `=?utf-8?B?${b64('Skrivaren\0 fastnar (kodad)')}?=`, body: 'Hej igen!\n' }),
    // a reply to the open case, its body quoted-printable with =00
    eml({
      subject: `SV: [#${ctx.kase.number}] Skrivaren fastnar`,
      headers: ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
      body: 'Tonern=00 =C3=A4r slut=00 nu.\n',
    }),
    // a base64 body that decodes to NULs
    eml({
      subject: 'Base64 med NUL',
      headers: ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'],
      body: `${b64('Fack\0 tv\u00e5\0\0 fastnar.')}\n`,
    }),
    // a raw NUL in the Message-ID
    eml({ subject: 'NUL i Message-ID', messageId: '<nul\0id-1@acme.se>', body: 'Se rubriken.\n' }),
    // NULs in file names: RFC 2231 percent-encoded, and in an encoded word
    eml({
      subject: 'Rapport bifogad',
      headers: [`Content-Type: multipart/mixed; boundary="${boundary}"`],
      body: [
        `--${boundary}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Rapporten bifogad.',
        `--${boundary}`,
        "Content-Type: application/pdf; name*=utf-8''rapport%00.pdf",
        "Content-Disposition: attachment; filename*=utf-8''rapport%00.pdf",
        'Content-Transfer-Encoding: base64',
        '',
        b64('%PDF-1.4 rapport'),
        `--${boundary}`,
        `Content-Type: text/plain; name="=?utf-8?B?${b64('logg\0.txt')}?="`,
        `Content-Disposition: attachment; filename="=?utf-8?B?${b64('logg\0.txt')}?="`,
        '',
        'loggrad',
        `--${boundary}--`,
        '',
      ].join('\n'),
    }),
    eml({ subject: 'N\u00e4sta meddelande', body: 'Helt vanligt.\n' }),
  ];
  for (const raw of messages) await ctx.imap.appendMessage(raw, { folder: mailbox.folder });

  const report = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(report.error, undefined, JSON.stringify(report));
  const rows = await inboundRows(mailbox);
  assert.is(rows.length, messages.length, 'every message is stored');
  const [rawSubject, encodedSubject, qpReply, base64Body, nulId, fileNames, next] = await Promise.all(
    rows.map((r) => shown(String(r.id))),
  );

  assert.equal([rawSubject?.outcome, rawSubject?.title], ['created', 'Skrivaren fastnar (r\u00e5)']);
  assert.equal([encodedSubject?.outcome, encodedSubject?.title], ['created', 'Skrivaren fastnar (kodad)']);
  assert.is(qpReply?.outcome, 'appended');
  assert.is(qpReply?.case_id, ctx.kase.id, 'the reply joins its case');
  assert.match(qpReply?.body_html ?? '', 'Tonern \u00e4r slut nu.');
  assert.is(base64Body?.outcome, 'created');
  assert.match(base64Body?.body_html ?? '', 'Fack tv\u00e5 fastnar.');
  assert.equal([nulId?.outcome, nulId?.title], ['created', 'NUL i Message-ID']);
  assert.is(nulId?.message_id, '<nulid-1@acme.se>');
  assert.is(fileNames?.outcome, 'created');
  assert.ok(fileNames?.documents.includes('rapport.pdf'), JSON.stringify(fileNames?.documents));
  assert.ok(fileNames?.documents.includes('logg.txt'), JSON.stringify(fileNames?.documents));
  assert.equal([next?.outcome, next?.title], ['created', 'N\u00e4sta meddelande']);
  for (const row of [rawSubject, encodedSubject, qpReply, base64Body, nulId, fileNames, next]) {
    assert.not.match(JSON.stringify(row), '\\u0000');
  }
  assert.ok(
    (await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)),
    'every UID is marked as read',
  );
});

test('a Message-ID too long for the index is dropped; the message becomes a case and the next one is read', async () => {
  const mailbox = await freshMailbox();
  // random, so PostgreSQL cannot compress it under the index's limit
  const longId = `<${randomBytes(1500).toString('hex')}@acme.se>`;
  await ctx.imap.appendMessage(eml({ subject: 'L\u00e5ng Message-ID', messageId: longId, body: 'Hej!\n' }), {
    folder: mailbox.folder,
  });
  await ctx.imap.appendMessage(eml({ subject: 'Efter den l\u00e5nga', body: 'Hej!\n' }), { folder: mailbox.folder });

  const report = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(report.error, undefined, JSON.stringify(report));
  const rows = await inboundRows(mailbox);
  assert.is(rows.length, 2);
  const [long, after] = await Promise.all(rows.map((r) => shown(String(r.id))));
  assert.equal([long?.outcome, long?.title, long?.message_id], ['created', 'L\u00e5ng Message-ID', null]);
  assert.equal([after?.outcome, after?.title], ['created', 'Efter den l\u00e5nga']);
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
});

test('a message that cannot be stored is recorded as failed with its UID, shown in Failed mail, and reading goes on', async () => {
  const mailbox = await freshMailbox();
  await ctx.imap.appendMessage(eml({ subject: 'Kan inte lagras', body: 'Hej!\n' }), { folder: mailbox.folder });
  await ctx.imap.appendMessage(eml({ subject: 'Lagras fint', body: 'Hej!\n' }), { folder: mailbox.folder });
  const [first] = await ctx.imap.listMessages(mailbox.folder);
  const stores: number[] = [];
  const readOnce = () =>
    readMailbox(ctx.db, ctx.config, mailbox.id, {
      store: async (db, raw, from) => {
        if (from.source === 'imap') stores.push(from.uid);
        if (from.source === 'imap' && from.uid === first?.uid) throw new Error('value too long for the column');
        return storeInboundRaw(db, raw, from);
      },
    });

  const report = await readOnce();
  assert.is(report.error, undefined, JSON.stringify(report));
  assert.is(report.failed, 1);
  assert.is(report.created, 1);
  const [failed, stored] = await inboundRows(mailbox);
  assert.ok(failed && stored);
  assert.is(Number(failed.uid), first?.uid);
  assert.is(failed.status, 'failed');
  assert.match(failed.error ?? '', 'value too long for the column');
  assert.match((await readFileContent(ctx.db, failed.file_id)).toString('utf8'), 'Subject: Kan inte lagras');
  assert.is((await shown(String(stored.id))).title, 'Lagras fint');
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));

  // Not fetched again on the next run.
  await ctx.db
    .updateTable('inbound_messages')
    .set({ received_at: new Date(Date.now() - 3600_000) })
    .execute();
  const again = await readOnce();
  assert.is(again.error, undefined);
  assert.is(stores.length, 2, 'each message was fetched and stored once');

  // The administrator sees it in Failed mail, with the mailbox, its UID and the error, and can retry.
  const admin = new TestClient(ctx.app);
  await admin.login('ADMIN');
  const page = await admin.get('/admin/inbound');
  assert.match(page.body, 'value too long for the column');
  assert.match(page.body, `UID ${first?.uid}`);
  const retry = await admin.post(`/admin/inbound/${failed.id}/retry`);
  assert.is(retry.statusCode, 303);
  assert.is((await shown(String(failed.id))).title, 'Kan inte lagras');
});

test('a message the server cannot hand out holds up its mailbox for three runs, then is recorded as failed with its UID', async () => {
  const mailbox = await freshMailbox();
  for (const subject of ['F\u00f6re den trasiga', 'Den trasiga', 'Efter den trasiga']) {
    await ctx.imap.appendMessage(eml({ subject, body: 'Hej!\n' }), { folder: mailbox.folder });
  }
  const [, broken] = await ctx.imap.listMessages(mailbox.folder);
  assert.ok(broken);
  // Its file on the server cannot be read: Dovecot drops the connection at each FETCH of it.
  await ctx.imap.breakMessage(broken.uid, mailbox.folder);

  const runs = [];
  for (let run = 1; run <= 4; run += 1) runs.push(await readMailbox(ctx.db, ctx.config, mailbox.id));
  assert.ok(
    runs.slice(0, 3).every((r) => r.error),
    'the first three runs stop at it (the connection is gone)',
  );
  assert.is(runs[3]?.error, undefined, JSON.stringify(runs[3]));
  const rows = await inboundRows(mailbox);
  assert.equal(
    rows.map((r) => [Number(r.uid), r.status, r.outcome]),
    [
      [broken.uid - 1, 'processed', 'created'],
      [broken.uid, 'failed', 'unreadable'],
      [broken.uid + 1, 'processed', 'created'],
    ],
  );
  assert.match(rows[1]?.error ?? '', 'could not be downloaded in 3 tries');
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
  const fifth = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(fifth.error, undefined, 'not asked for again');

  // Failed mail lists it with its UID; there is nothing to try again, and it says where it is.
  const admin = new TestClient(ctx.app);
  await admin.login('ADMIN');
  await ctx.db
    .updateTable('inbound_messages')
    .set({ received_at: new Date(Date.now() - 3600_000) })
    .execute();
  const page = await admin.get('/admin/inbound');
  assert.match(page.body, `UID ${broken.uid}`);
  assert.match(page.body, 'could not be downloaded in 3 tries');
  assert.not.match(page.body, `/admin/inbound/${rows[1]?.id}/retry`);
  assert.match(page.body, 'E-postservern lämnade aldrig ut meddelandet');
  const retry = await admin.post(`/admin/inbound/${rows[1]?.id}/retry`);
  assert.is(retry.statusCode, 303);
  assert.match((await admin.get('/admin/inbound')).body, 'Inte försökt igen: e-postservern lämnade aldrig ut');
  const after = await ctx.db
    .selectFrom('inbound_messages')
    .select(['status', 'outcome'])
    .where('id', '=', String(rows[1]?.id))
    .executeTakeFirstOrThrow();
  assert.equal(after, { status: 'failed', outcome: 'unreadable' }, 'no empty case made of it');
});

pipeline(
  'raw NULs passed on by a server or an import: stored text without them, the raw bytes kept as they came',
  async () => {
    const raw = eml({
      subject: 'R\u00e5\0 NUL',
      messageId: '<raw\0nul@acme.se>',
      headers: [
        'Content-Type: multipart/mixed; boundary="b"',
        'X-Mailer: Trasig\0 klient',
        'Reply-To: Per\0 Persson <per@acme.se>',
      ],
      body: [
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Text\0 med NUL.',
        '--b',
        'Content-Type: application/octet-stream',
        'Content-Disposition: attachment; filename="bil\0aga.bin"',
        '',
        'data\0data',
        '--b--',
        '',
      ].join('\n'),
    });
    const stored = await storeInboundRaw(ctx.db, raw, { source: 'import' });
    const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
    assert.is(result.outcome, 'created', result.error);
    const row = await shown(stored.id);
    assert.is(row.title, 'R\u00e5 NUL');
    assert.is(row.message_id, '<rawnul@acme.se>');
    assert.is(row.entry_message_id, '<rawnul@acme.se>');
    assert.match(row.body_html ?? '', 'Text med NUL.');
    assert.ok(row.documents.includes('bilaga.bin'), JSON.stringify(row.documents));
    const file = await ctx.db
      .selectFrom('inbound_messages')
      .select('file_id')
      .where('id', '=', stored.id)
      .executeTakeFirstOrThrow();
    assert.ok((await readFileContent(ctx.db, file.file_id)).equals(raw), 'the raw message is kept byte for byte');
  },
);

pipeline('a bounce with NULs in its report and returned headers is noted in the case it belongs to', async () => {
  const raw = Buffer.from(
    [
      'From: Mail Delivery System <MAILER-DAEMON@mx.acme.se>',
      'To: support@casedesk.test',
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-nul@mx.acme.se>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"',
      '',
      '--dsn',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Your message could not be delivered.',
      '--dsn',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.acme.se',
      '',
      'Final-Recipient: rfc822; per@acme.se',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 User\0 unknown',
      '--dsn',
      'Content-Type: text/rfc822-headers',
      '',
      'From: support@casedesk.test',
      'Message-ID: <cd.returned\0@casedesk.test>',
      `X-Casedesk-Case: ${ctx.kase.number}\0`,
      'Subject: Skrivaren',
      '--dsn--',
      '',
    ].join('\r\n'),
  );
  const stored = await storeInboundRaw(ctx.db, raw, { source: 'import' });
  const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
  assert.is(result.outcome, 'bounce', result.error);
  assert.is(result.caseNumber, ctx.kase.number);
  const row = await shown(stored.id);
  assert.match(row.body_html ?? '', 'per@acme.se: 550 5.1.1 User unknown');
});

pipeline('a mail of a megabyte of distinct words (a pasted log) becomes a case, found by its first words', async () => {
  // 80,000 different words: more than a tsvector (1 MB) can hold.
  const words = Array.from({ length: 80_000 }, () => randomBytes(6).toString('hex'));
  const raw = eml({ subject: 'Loggen fr\u00e5n skrivaren', body: `Skrivarloggen bifogas.\n${words.join(' ')}\n` });
  const stored = await storeInboundRaw(ctx.db, raw, { source: 'import' });
  const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
  assert.is(result.outcome, 'created', result.error);
  const row = await shown(stored.id);
  assert.match(row.body_html ?? '', 'Skrivarloggen bifogas.');
  const found = await ctx.db
    .selectFrom('cases')
    .select('number')
    .where(sql<boolean>`search_vector @@ to_tsquery('casedesk_search', 'skrivarloggen')`)
    .execute();
  assert.equal(
    found.map((c) => c.number),
    [result.caseNumber],
  );

  // More such mail in the same case: its words no longer fit, yet each is saved, and the case can
  // still be renamed and is found by its new title.
  const kase = await ctx.db
    .selectFrom('cases')
    .select('id')
    .where('number', '=', result.caseNumber as string)
    .executeTakeFirstOrThrow();
  await sql`
    insert into thread_entries (case_id, side, author_name, body_html)
    select ${kase.id}, 'customer', 'Per Persson',
      (select string_agg(md5(n::text || '-' || i::text), ' ') from generate_series(1, 3200) i)
    from generate_series(1, 12) n`.execute(ctx.db);
  await ctx.db.updateTable('cases').set({ title: 'Skrivarloggar i mängd' }).where('id', '=', kase.id).execute();
  const renamed = await ctx.db
    .selectFrom('cases')
    .select('id')
    .where(sql<boolean>`search_vector @@ to_tsquery('casedesk_search', 'mängd')`)
    .execute();
  assert.equal(
    renamed.map((c) => c.id),
    [kase.id],
  );
});

// Broken shapes met in the wild, one message each (broken-mail/README.md says what is wrong with
// each): the case title and a phrase of the text an agent then sees.
const brokenDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'broken-mail');
type BrokenExpectation = {
  title: string;
  text: string;
  document?: RegExp;
  // every file the case must have, in any order, and words that must not be in the body
  documents?: string[];
  notInText?: string[];
};
const brokenExpected: Record<string, BrokenExpectation> = {
  '01-truncated-multipart.eml': {
    title: 'Faktura 2026-1142 saknas',
    text: 'Vi har inte fått fakturan, se bifogat.',
    document: /^Faktura 2026-1142\.pdf$/,
  },
  '02-unused-boundary.eml': {
    title: 'Nytt meddelande från webbformuläret',
    text: 'Skrivaren på plan 3 skriver bara ut tomma sidor.',
  },
  '03-multipart-without-boundary.eml': { title: 'Skanner fungerar inte', text: 'felkod E-302 varje morgon' },
  '04-broken-base64.eml': { title: 'Felkod vid uppstart', text: 'Datorn visar felkod 0x0000007B vid uppstart.' },
  '05-broken-quoted-printable.eml': { title: 'Kopiatorn på plan 4', text: 'Tonern är bytt, felet kvarstår.' },
  '06-header-garbage.eml': { title: 'Fråga om licenser för nästa år', text: 'hur många licenser har vi kvar?' },
  '07-unknown-charsets.eml': {
    title: 'Skrivaren på plan 5',
    text: 'drar in två ark åt gången',
    document: /^logg\.txt$/,
  },
  '08-no-body-separator.eml': { title: 'Bara rubrik', text: '' },
  '09-huge-subject-and-file-name.eml': {
    // a case title keeps 200 characters
    title: 'Skrivaren fastnar igen '.repeat(9).slice(0, 200),
    text: 'Se bifogad rapport.',
    // a name of 600 characters after a Windows path: cut to 255, its extension kept
    document: /^rapport_[a-z_]{243}\.pdf$/,
  },
  '10-deep-nesting.eml': { title: 'Inloggning', text: 'Se nedan, hela kedjan.' },
  '11-encoded-multipart-utf16.eml': { title: 'Moms saknas', text: 'Fakturan är fel, momsen saknas.' },
  '12-sender-chaos.eml': { title: 'Till alla: servern startas om', text: 'Servern startas om i kväll klockan 22.' },
  '13-detached-boundary.eml': {
    title: 'Licensnyckel',
    text: 'Licensnyckeln till ritprogrammet fungerar inte längre.',
  },
  '14-boundary-line-with-text.eml': {
    title: 'Scannern skickar tomma sidor',
    text: 'Scannern på plan 2 skickar bara tomma sidor till min e-post. Loggen från skannern är bifogad.',
    documents: ['skannerlogg.pdf'],
    notInText: ['FormMail-', 'text version'],
  },
  '15-boundary-trailing-spaces.eml': {
    title: 'Projektorn i rum 4',
    text: 'Projektorn i rum 4 stängs av efter tio minuter.',
    documents: ['felmeddelande.pdf'],
    notInText: ['=_webmail'],
  },
  '16-declared-boundary-differs.eml': {
    title: 'VPN kopplar ner',
    text: 'VPN-klienten kopplar ner var femte minut sedan uppdateringen i går.',
    documents: ['vpn-logg.pdf'],
    notInText: ['_Part_', '=E5'],
  },
  '17-nested-multipart-without-boundary.eml': {
    title: 'Kalendern synkar inte',
    text: 'Kalendern i telefonen synkar inte längre med Outlook.',
    documents: ['skarmbild.pdf'],
    notInText: ['alt-1c1c'],
  },
  '18-base64-message-rfc822.eml': {
    title: 'Skrivaren i receptionen',
    text: 'Skrivaren i receptionen skriver ut allt i gråskala.',
    documents: ['testsida.pdf'],
  },
  '19-python-msg44-named-text-parts.eml': {
    title: 'a simple multipart',
    // both parts are files named msg.txt, so the body is empty and the files are kept
    text: '',
    documents: ['msg.txt', 'msg.txt'],
  },
  '20-text-and-html-files.eml': {
    title: 'Exportfilerna från lönesystemet',
    text: 'Exporten från lönesystemet ger fel summa. Filerna är bifogade.',
    notInText: ['1001;32500', 'format=csv', 'Lönerapport december', 'Sidfot från lönesystemet'],
    documents: ['export.csv', 'installningar.ini', 'rapport.html', 'attachment-4.html'],
  },
  '21-unreadable-structure.eml': {
    title: 'Skrivaren i lagret',
    text: 'Skrivaren i lagret skriver ut etiketterna sneda sedan i måndags.',
    documents: ['etikett.pdf'],
  },
};

// What an agent must see of one broken sample, stored and processed.
function assertShownAsExpected(name: string, got: Awaited<ReturnType<typeof shown>> | undefined): void {
  const expected = brokenExpected[name] as BrokenExpectation;
  assert.is(got?.outcome, 'created', `${name}: ${got?.error}`);
  assert.is(got?.title, expected.title, name);
  const text = (got?.body_html ?? '')
    .replace(/<br>/g, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ');
  assert.ok(expected.text ? text.includes(expected.text) : text.trim() === '', `${name}: ${text.slice(0, 200)}`);
  for (const absent of expected.notInText ?? [])
    assert.not.ok(text.includes(absent), `${name}: "${absent}" in ${text}`);
  if (expected.document) {
    const { document } = expected;
    assert.ok(
      got?.documents.some((d) => document.test(d)),
      `${name}: ${JSON.stringify(got?.documents)}`,
    );
  }
  if (expected.documents) {
    // besides the message itself, kept as "<date> <time> <title>.eml"
    const files = (got?.documents ?? []).filter((d) => !/^\d{4}-\d\d-\d\d \d\d\.\d\d .*\.eml$/.test(d));
    assert.equal(files.sort(), [...expected.documents].sort(), name);
  }
}

test('broken MIME from the wild: each message becomes a case with its text, is marked, and the next is read', async () => {
  const mailbox = await freshMailbox();
  const files = readdirSync(brokenDir)
    .filter((name) => name.endsWith('.eml'))
    .sort();
  assert.equal(files, Object.keys(brokenExpected).sort(), 'each sample says what it should become');
  for (const name of files) {
    await ctx.imap.appendMessage(readFileSync(path.join(brokenDir, name)), { folder: mailbox.folder });
  }
  await ctx.imap.appendMessage(eml({ subject: 'Efter de trasiga', body: 'Hej!\n' }), { folder: mailbox.folder });

  const report = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(report.error, undefined, JSON.stringify(report));
  const rows = await inboundRows(mailbox);
  assert.is(rows.length, files.length + 1);
  const seenAs = await Promise.all(rows.map((r) => shown(String(r.id))));
  files.forEach((name, i) => {
    assertShownAsExpected(name, seenAs[i]);
  });
  assert.is(seenAs.at(-1)?.title, 'Efter de trasiga');
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
});

test('files that are not mail in a mailbox go to Failed mail, are marked, and the next message is read', async () => {
  const mailbox = await freshMailbox();
  const notMailDir = path.join(brokenDir, 'not-mail');
  // an empty message is one no IMAP server stores; the others are appended as they are
  const files = ['document.pdf.eml', 'random-binary.eml', 'text-without-headers.eml'];
  for (const name of files) {
    await ctx.imap.appendMessage(readFileSync(path.join(notMailDir, name)), { folder: mailbox.folder });
  }
  await ctx.imap.appendMessage(eml({ subject: 'Efter filerna', body: 'Hej!\n' }), { folder: mailbox.folder });
  const report = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(report.error, undefined, JSON.stringify(report));
  assert.is(report.failed, files.length);
  const rows = await inboundRows(mailbox);
  assert.equal(
    rows.map((r) => [r.status, r.case_id]),
    [...files.map(() => ['failed', null]), ['processed', rows.at(-1)?.case_id]],
  );
  for (const row of rows.slice(0, -1)) assert.match(row.error ?? '', 'not an e-mail message');
  assert.is((await shown(String(rows.at(-1)?.id))).title, 'Efter filerna');
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
});

pipeline('broken MIME imported: each sample keeps its text and every file that can be recovered', async () => {
  const files = readdirSync(brokenDir)
    .filter((name) => name.endsWith('.eml'))
    .sort();
  for (const name of files) {
    const stored = await storeInboundRaw(ctx.db, readFileSync(path.join(brokenDir, name)), { source: 'import' });
    const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
    assert.is(result.error, undefined, name);
    assertShownAsExpected(name, await shown(stored.id));
  }
});

const casesNow = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('cases')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

pipeline(
  'a file that is not a mail (empty, a PDF, random bytes, text without headers) goes to Failed mail, never a case',
  async () => {
    const notMailDir = path.join(brokenDir, 'not-mail');
    const files = readdirSync(notMailDir).sort();
    assert.equal(files, ['document.pdf.eml', 'empty.eml', 'random-binary.eml', 'text-without-headers.eml']);
    const before = await casesNow();
    const ids: string[] = [];
    for (const name of files) {
      const stored = await storeInboundRaw(ctx.db, readFileSync(path.join(notMailDir, name)), { source: 'import' });
      const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
      assert.is(result.outcome, 'failed', name);
      assert.match(result.error ?? '', 'not an e-mail message', name);
      const row = await shown(stored.id);
      assert.equal([row.status, row.outcome, row.case_id], ['failed', 'not_mail', null], name);
      ids.push(stored.id);
    }
    assert.is(await casesNow(), before, 'no "(no subject)" case made of any of them');

    // Administration → Failed mail lists each with its reason, to look at or try again.
    const admin = new TestClient(ctx.app);
    await admin.login('ADMIN');
    const page = await admin.get('/admin/inbound');
    assert.is(page.statusCode, 200);
    for (const id of ids) assert.match(page.body, `/admin/inbound/${id}/retry`);
    assert.match(page.body, 'The file is not an e-mail message');
    // and says, in the reader's language, what became of it
    assert.match(page.body, 'Filen är inget e-postmeddelande (den saknar brevhuvud), så inget ärende skapades.');
  },
);

pipeline(
  'an exim bounce that also says Auto-Submitted (X-Failed-Recipients, translated subject) marks our mail failed',
  async () => {
    const secret = await loadSecret(ctx.db, 'message-id');
    const ours = createMessageId('casedesk.test', secret);
    await ctx.db
      .insertInto('outbox')
      .values({
        kind: 'reply',
        case_id: ctx.kase.id,
        message_id: ours,
        envelope_from: 'support@casedesk.test',
        envelope_to: ['per@acme.se'],
        subject: `[#${ctx.kase.number}] Studsar igen`,
        raw: Buffer.from('x'),
        status: 'sent',
      })
      .execute();
    const before = await casesNow();
    const raw = Buffer.from(
      readFileSync(path.join(brokenDir, 'bounce', 'exim-translated-auto-submitted.eml'), 'utf8')
        .replaceAll('{{CASE}}', ctx.kase.number)
        .replaceAll('{{MESSAGE_ID}}', ours),
      'utf8',
    );
    const stored = await storeInboundRaw(ctx.db, raw, { source: 'import' });
    const result = await processInboundMessage(ctx.db, ctx.config, stored.id);
    assert.is(result.outcome, 'bounce', result.error);
    assert.is(result.caseNumber, ctx.kase.number);
    assert.is(await casesNow(), before);
    const outbox = await ctx.db
      .selectFrom('outbox')
      .select(['status', 'last_error'])
      .where('message_id', '=', ours)
      .executeTakeFirstOrThrow();
    assert.is(outbox.status, 'failed');
    assert.match(outbox.last_error ?? '', 'per@acme.se');
    const row = await shown(stored.id);
    assert.equal([row.status, row.outcome], ['ignored', 'bounce']);
    assert.match(row.body_html ?? '', 'Recipient address rejected');
    const events = await ctx.db
      .selectFrom('case_events')
      .select(['kind', 'new_value'])
      .where('case_id', '=', ctx.kase.id)
      .where('kind', 'in', ['mail_bounced', 'auto_reply_received'])
      .orderBy('id')
      .execute();
    assert.is(events.at(-1)?.kind, 'mail_bounced', 'noted as a bounce, not as an automatic answer');
    assert.match(events.at(-1)?.new_value ?? '', 'User unknown');
    assert.not.ok(events.some((e) => e.kind === 'auto_reply_received'));
  },
);

test.run();
pipeline.run();
