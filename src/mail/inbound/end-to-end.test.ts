import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Parser } from 'htmlparser2';
import { ImapFlow } from 'imapflow';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCase } from '../../cases/cases.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Case, User } from '../../db/schema.ts';
import { addDiscussionPost } from '../../discussions/discussions.ts';
import { parseForm } from '../../forms/form.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { startTestImapServer, type TestImapServer } from '../../test-support/imap.ts';
import { seedAcme } from '../../test-support/seeds.ts';
import { isInstalled, needs } from '../../test-support/system-packages.ts';
import { addStaffReply } from '../../threads/threads.ts';
import { readMailbox } from './fetch.ts';
import { createMailbox, mailboxSchema } from './mailboxes.ts';

// Issue 15, "Done when": the inbound items with real mails through the two real entry points,
// `npm run mail:import` run as a child process and Read mail from a Dovecot mailbox, checked by
// what a user then sees: the case page, the discussion, Failed mail, Possible loops. One import
// run and one mailbox read feed every test, as each spawn and each read costs seconds of CPU.
// The same mail may not take both paths (the second would be a duplicate), so each path gets its
// own mails and its own cases.

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const repliesDir = path.join(root, 'test-mail/replies');
const brokenDir = path.join(here, 'broken-mail');

type Reply = { file: string; style: string; language: string; own: string[]; quoted: string };
type ImportLine = {
  file: string;
  inboundId: string | null;
  outcome: string;
  caseNumber: string | null;
  error: string | null;
};

// Fixtures of one path: a case Per wrote in, answered by Kalle (a stranger quotes that answer's
// Message-ID, a bounce returns it) with a mention mail in its discussion, and a case the loop
// writes into.
type Side = {
  kase: Case;
  replyMessageId: string;
  mention: { messageId: string; subject: string; to: User; from: User };
  loopCase: Case;
};

const ctx = {} as {
  db: Db;
  url: string;
  drop: () => Promise<void>;
  config: Config;
  app: FastifyInstance;
  dir: string;
  kalle: User;
  anna: User;
  import: Side;
  imap: Side;
  run: { code: number | null; lines: ImportLine[]; stderr: string; ms: number };
  server: TestImapServer;
  agent: TestClient;
  admin: TestClient;
};

// The IMAP path's share of the real mails; the import takes all the others.
const overImap = {
  bottom: 'sv-gmail-text-bottom.eml',
  interleaved: 'sv-gmail-text-interleaved.eml',
  broken: '16-declared-boundary-differs.eml',
  stranger: 'shared-zammad-mail003.box.eml',
  notMail: ['document.pdf.eml', 'random-binary.eml'],
};
const importStranger = 'shared-zammad-mail005.box.eml';

const manifest = JSON.parse(await readFile(path.join(repliesDir, 'manifest.json'), 'utf8')) as Reply[];
const replyNamed = (file: string) => manifest.find((r) => r.file === file) as Reply;
// the replies imported only to see them folded; the strangers' are checked in their own tests
const replies = manifest.filter(
  (r) => ![overImap.bottom, overImap.interleaved, overImap.stranger, importStranger].includes(r.file),
);

// A .txt fixture is a body only, as its source kept it: sent as a plain-text mail (as quotes.test.ts does).
async function replyMail(file: string): Promise<Buffer> {
  const data = await readFile(path.join(repliesDir, file));
  if (!file.endsWith('.txt')) return data;
  const head =
    'From: sender@example.com\r\nTo: support@casedesk.test\r\nSubject: Re: test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n';
  return Buffer.concat([Buffer.from(head), data]);
}

// A real reply (from the shared corpus, kept in test-mail/replies) made to answer our mail: its own
// In-Reply-To and References give way to our Message-ID, which exists only once the test has sent
// it; nothing else changes.
async function answeringOurs(file: string, messageId: string): Promise<Buffer> {
  const raw = (await readFile(path.join(repliesDir, file))).toString('latin1');
  const end = raw.search(/\r?\n\r?\n/);
  const head = raw
    .slice(0, end)
    .replace(/^(in-reply-to|references):.*(\r?\n[ \t].*)*\r?\n/gim, '')
    .replace(/^(message-id:)/im, `In-Reply-To: ${messageId}\nReferences: ${messageId}\n$1`);
  return Buffer.from(head + raw.slice(end), 'latin1');
}

// The exim bounce sample, about our reply (its README: {{CASE}} and {{MESSAGE_ID}} are ours).
async function eximBounce(side: Side, tag: string): Promise<Buffer> {
  const text = await readFile(path.join(brokenDir, 'bounce/exim-translated-auto-submitted.eml'), 'utf8');
  return Buffer.from(
    text
      .replaceAll('{{CASE}}', side.kase.number)
      .replaceAll('{{MESSAGE_ID}}', side.replyMessageId)
      .replace(/^Message-Id: <([^>]+)>/m, `Message-Id: <${tag}.$1>`),
    'utf8',
  );
}

// Written for this test, as no collected mail fits: a staff member answering the mention mail
// from Outlook (Swedish), the notification quoted under the answer.
function mentionAnswer(side: Side, text: string): Buffer {
  const { mention } = side;
  return Buffer.from(
    [
      `From: ${mention.to.name} <${mention.to.email}>`,
      'To: Casedesk <support@casedesk.test>',
      `Subject: SV: ${mention.subject}`,
      'Date: Wed, 25 Nov 2026 10:30:00 +0100',
      `Message-ID: <mention-answer-${side.kase.number}@example.com>`,
      `In-Reply-To: ${mention.messageId}`,
      `References: ${mention.messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      'X-Mailer: Microsoft Outlook 16.0',
      '',
      text,
      '',
      `${mention.to.name}`,
      '',
      '-----Ursprungligt meddelande-----',
      'Från: Casedesk <support@casedesk.test>',
      'Skickat: den 25 november 2026 10:00',
      `Till: ${mention.to.name} <${mention.to.email}>`,
      `Ämne: ${mention.subject}`,
      '',
      `${mention.from.name} nämnde dig i ärende ${side.kase.number}.`,
      '',
    ].join('\r\n'),
    'utf8',
  );
}

// Written for this test, as the corpus has no acknowledgement without auto headers (its ticket
// system notifications all say Auto-Submitted): what the customer's ticket system answers each
// mail of the case with.
function acknowledgement(side: Side, i: number): Buffer {
  return Buffer.from(
    [
      'From: Acme Helpdesk <helpdesk@acme.se>',
      'To: support@casedesk.test',
      `Subject: Re: [#${side.loopCase.number}] ${side.loopCase.title}`,
      `Date: Wed, 25 Nov 2026 10:${String(i % 60).padStart(2, '0')}:00 +0100`,
      `Message-ID: <ack-${i}-${side.loopCase.number}@helpdesk.acme.se>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      `Tack för ditt meddelande (ärende ACME-${1000 + i}). Vi återkommer så snart vi kan.`,
      '',
    ].join('\r\n'),
    'utf8',
  );
}

async function openCase(title: string): Promise<Case> {
  const acme = await ctx.db
    .selectFrom('customers')
    .select('id')
    .where('number', '=', 'K1001')
    .executeTakeFirstOrThrow();
  const per = await ctx.db
    .selectFrom('contacts')
    .select('id')
    .where('email', '=', 'per@acme.se')
    .executeTakeFirstOrThrow();
  const status = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', 'open')
    .orderBy('position')
    .executeTakeFirstOrThrow();
  const type = await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow();
  return createCase(
    ctx.db,
    {
      title,
      responsible_id: ctx.kalle.id,
      customer_id: acme.id,
      status_id: status.id,
      case_type_id: type.id,
      priority_id: null,
      due_date: null,
      contact_id: per.id,
      contact_name: null,
      contact_email: null,
      contact_phone: null,
      body_html: `<div>${title}</div>`,
    },
    ctx.kalle,
  );
}

async function prepareSide(title: string, mentioner: User, mentioned: User): Promise<Side> {
  const kase = await openCase(title);
  // Kalle answers Per; the sender (not running here) delivered it, so it is marked sent.
  const reply = await addStaffReply(
    ctx.db,
    kase.id,
    { body_html: '<div>Vi byter valsen i fack 2 på torsdag.</div>', delivery: 'to_send', to: ['per@acme.se'] },
    ctx.kalle,
    { config: ctx.config },
  );
  const sent = await ctx.db
    .updateTable('outbox')
    .set({ status: 'sent', sent_at: new Date(), held_until: null })
    .where('thread_entry_id', '=', reply.id)
    .returning('message_id')
    // a reply is composed when it is queued, so it has its Message-ID
    .$narrowType<{ message_id: string }>()
    .executeTakeFirstOrThrow();
  await addDiscussionPost(ctx.db, kase.id, `<div>@${mentioned.login} kan du titta på fakturan?</div>`, mentioner, {
    config: ctx.config,
  });
  const mention = await ctx.db
    .selectFrom('outbox')
    .select(['message_id', 'subject'])
    .where('kind', '=', 'notification')
    .where('case_id', '=', kase.id)
    // a mention's mail is composed when it is queued, so it has its Message-ID
    .$narrowType<{ message_id: string }>()
    .executeTakeFirstOrThrow();
  return {
    kase,
    replyMessageId: sent.message_id,
    mention: { messageId: mention.message_id, subject: mention.subject, to: mentioned, from: mentioner },
    loopCase: await openCase(`${title}: kvittenser`),
  };
}

// `npm run mail:import -- --json FILE …` as an administrator runs it, against this file's database.
async function runImport(files: string[]): Promise<typeof ctx.run> {
  const started = Date.now();
  const child = spawn('npm', ['run', '--silent', 'mail:import', '--', '--json', ...files], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: ctx.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ImportLine);
  return { code, lines, stderr, ms: Date.now() - started };
}

const written = new Map<string, string>();
// Writes a mail into the run's directory under a readable name, and remembers it.
async function put(name: string, raw: Buffer): Promise<string> {
  const file = path.join(ctx.dir, name);
  await writeFile(file, raw);
  written.set(name, file);
  return file;
}
function lineOf(name: string): ImportLine {
  const file = written.get(name) ?? name;
  const line = ctx.run.lines.find((l) => l.file === file);
  assert.ok(line, `no line for ${name} in the import's output:\n${ctx.run.stderr}`);
  return line as ImportLine;
}

const blockTags = new Set(['p', 'div', 'br', 'blockquote', 'li', 'tr', 'pre', 'hr', 'summary']);
const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

// What a reader sees of body HTML without opening anything, and what sits in a folded quote.
function readBody(html: string): { shown: string; folded: string } {
  let depth = 0;
  let shown = '';
  let folded = '';
  const add = (text: string) => {
    if (depth > 0) folded += text;
    else shown += text;
  };
  const parser = new Parser(
    {
      onopentag(tag, attrs) {
        if (tag === 'details' && (depth > 0 || attrs.class === 'quoted')) depth += 1;
        if (blockTags.has(tag)) add('\n');
      },
      onclosetag(tag) {
        if (blockTags.has(tag)) add('\n');
        if (tag === 'details' && depth > 0) depth -= 1;
      },
      ontext(text) {
        add(text);
      },
    },
    { decodeEntities: true },
  );
  parser.end(html);
  return { shown: squash(shown), folded: squash(folded) };
}

type Entry = { side: string; author: string; shown: string; folded: string; attachments: string[]; html: string };

// The thread of a case page as a reader sees it: each entry's writer, its text outside and inside
// the folded quote, and the files listed under it.
function threadOf(page: string): Entry[] {
  const entries: Entry[] = [];
  for (const m of page.matchAll(/<li class="entry (\w+)">([\s\S]*?)<\/article>/g)) {
    const [, side = '', html = ''] = m;
    const start = html.indexOf('<div class="rich-text">') + '<div class="rich-text">'.length;
    const list = html.indexOf('<ul class="mail-attachments"');
    const body = html.slice(start, html.lastIndexOf('</div>', list >= 0 ? list : html.length));
    const attachments = [
      ...(list >= 0 ? html.slice(list) : '').matchAll(/<a href="\/documents\/\d+\/download">([^<]*)<\/a>/g),
    ].map((a) => readBody(a[1] ?? '').shown);
    const author = readBody(/<strong>([\s\S]*?)<\/strong>/.exec(html)?.[1] ?? '').shown;
    entries.push({ side, author, ...readBody(body), attachments, html });
  }
  return entries;
}

// The sender's own lines in sight, the quoted line folded away and not in sight (the manifest's words).
function assertFoldedRight(entry: Entry | undefined, reply: Reply): void {
  assert.ok(entry, `${reply.file}: no entry`);
  assert.ok(entry?.html.includes('<details class="quoted">'), `${reply.file}: nothing folded`);
  for (const own of reply.own) assert.ok(entry?.shown.includes(squash(own)), `${reply.file}: "${own}" not in sight`);
  assert.ok(entry?.folded.includes(squash(reply.quoted)), `${reply.file}: "${reply.quoted}" not folded`);
  assert.not.ok(entry?.shown.includes(squash(reply.quoted)), `${reply.file}: "${reply.quoted}" in sight`);
}

async function casePage(number: string | null | undefined): Promise<{ title: string; page: string; thread: Entry[] }> {
  assert.ok(number, 'a case number');
  const response = await ctx.agent.get(`/cases/${number}`);
  assert.is(response.statusCode, 200, `/cases/${number}`);
  const title = readBody(
    /<h1><span class="case-number">[^<]*<\/span> ([\s\S]*?)<\/h1>/.exec(response.body)?.[1] ?? '',
  ).shown;
  return { title, page: response.body, thread: threadOf(response.body) };
}

// Both suites stand on one database, app and set of fixtures, made by whichever runs first.
let prepared: Promise<void> | undefined;
const shared = (): Promise<void> => {
  prepared ??= prepare();
  return prepared;
};

async function prepare(): Promise<void> {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop, config: testConfig() });
  await seedUser(ctx.db, 'ADMIN', 'admin');
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  await seedAcme(ctx.db);
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_address: 'support@casedesk.test', subject_tag: '[#{number}]' })
    .execute();
  ctx.app = await buildTestApp(ctx.db);
  ctx.import = await prepareSide('Skrivaren fastnar', ctx.kalle, ctx.anna);
  ctx.imap = await prepareSide('Skannern i receptionen', ctx.anna, ctx.kalle);
  ctx.dir = await mkdtemp(path.join(os.tmpdir(), 'casedesk-e2e-'));
  ctx.agent = new TestClient(ctx.app);
  await ctx.agent.login('KALLE');
  ctx.admin = new TestClient(ctx.app);
  await ctx.admin.login('ADMIN');
}

// Also after a setup that failed half-way, so a broken run leaves no database behind.
async function tearDown(): Promise<void> {
  await ctx.app?.close();
  await ctx.drop?.();
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// npm run mail:import

const imported = suite('npm run mail:import with real mails, as the case page and the administration show them');

const brokenExpected: Record<string, { title: string; text: string; files?: string[] }> = {
  '01-truncated-multipart.eml': { title: 'Faktura 2026-1142 saknas', text: 'Vi har inte fått fakturan, se bifogat.' },
  '02-unused-boundary.eml': {
    title: 'Nytt meddelande från webbformuläret',
    text: 'Skrivaren på plan 3 skriver bara ut tomma sidor.',
  },
  '03-multipart-without-boundary.eml': { title: 'Skanner fungerar inte', text: 'felkod E-302 varje morgon' },
  '04-broken-base64.eml': { title: 'Felkod vid uppstart', text: 'Datorn visar felkod 0x0000007B vid uppstart.' },
  '05-broken-quoted-printable.eml': { title: 'Kopiatorn på plan 4', text: 'Tonern är bytt, felet kvarstår.' },
  '06-header-garbage.eml': { title: 'Fråga om licenser för nästa år', text: 'hur många licenser har vi kvar?' },
  '07-unknown-charsets.eml': { title: 'Skrivaren på plan 5', text: 'drar in två ark åt gången' },
  '08-no-body-separator.eml': { title: 'Bara rubrik', text: '' },
  '09-huge-subject-and-file-name.eml': {
    title: 'Skrivaren fastnar igen '.repeat(9).slice(0, 200).trim(),
    text: 'Se bifogad rapport.',
  },
  '10-deep-nesting.eml': { title: 'Inloggning', text: 'Se nedan, hela kedjan.' },
  '11-encoded-multipart-utf16.eml': { title: 'Moms saknas', text: 'Fakturan är fel, momsen saknas.' },
  '12-sender-chaos.eml': { title: 'Till alla: servern startas om', text: 'Servern startas om i kväll klockan 22.' },
  '13-detached-boundary.eml': { title: 'Licensnyckel', text: 'Licensnyckeln till ritprogrammet fungerar inte längre.' },
  '14-boundary-line-with-text.eml': {
    title: 'Scannern skickar tomma sidor',
    text: 'Scannern på plan 2 skickar bara tomma sidor till min e-post. Loggen från skannern är bifogad.',
    files: ['skannerlogg.pdf'],
  },
  '15-boundary-trailing-spaces.eml': {
    title: 'Projektorn i rum 4',
    text: 'Projektorn i rum 4 stängs av efter tio minuter.',
    files: ['felmeddelande.pdf'],
  },
  '16-declared-boundary-differs.eml': {
    title: 'VPN kopplar ner',
    text: 'VPN-klienten kopplar ner var femte minut sedan uppdateringen i går.',
    files: ['vpn-logg.pdf'],
  },
  '17-nested-multipart-without-boundary.eml': {
    title: 'Kalendern synkar inte',
    text: 'Kalendern i telefonen synkar inte längre med Outlook.',
    files: ['skarmbild.pdf'],
  },
  '18-base64-message-rfc822.eml': {
    title: 'Skrivaren i receptionen',
    text: 'Skrivaren i receptionen skriver ut allt i gråskala.',
    files: ['testsida.pdf'],
  },
  '19-python-msg44-named-text-parts.eml': { title: 'a simple multipart', text: '', files: ['msg.txt', 'msg.txt'] },
  '20-text-and-html-files.eml': {
    title: 'Exportfilerna från lönesystemet',
    text: 'Exporten från lönesystemet ger fel summa. Filerna är bifogade.',
    files: ['export.csv', 'installningar.ini', 'rapport.html', 'attachment-4.html'],
  },
  '21-unreadable-structure.eml': {
    title: 'Skrivaren i lagret',
    text: 'Skrivaren i lagret skriver ut etiketterna sneda sedan i måndags.',
    files: ['etikett.pdf'],
  },
};

// The entry of the mail on its new case, checked as bad-mail.test.ts checks the stored row.
async function assertBrokenShown(name: string, caseNumber: string | null): Promise<void> {
  const expected = brokenExpected[name];
  assert.ok(expected, name);
  if (!expected) return;
  const { title, thread } = await casePage(caseNumber);
  assert.is(title, expected.title, name);
  const entry = thread.find((e) => e.side === 'customer');
  assert.ok(entry, `${name}: no customer entry on the case page`);
  const text = `${entry?.shown} ${entry?.folded}`.trim();
  assert.ok(expected.text ? text.includes(expected.text) : entry?.shown === '', `${name}: ${text.slice(0, 200)}`);
  if (expected.files) assert.equal([...(entry?.attachments ?? [])].sort(), [...expected.files].sort(), name);
}

imported.before(async () => {
  await shared();
  const files: string[] = [];
  for (const reply of replies) files.push(await put(`reply-${reply.file}.eml`, await replyMail(reply.file)));
  for (const name of Object.keys(brokenExpected).filter((n) => n !== overImap.broken)) {
    files.push(await put(name, await readFile(path.join(brokenDir, name))));
  }
  for (const name of (await readdir(path.join(brokenDir, 'not-mail'))).sort()) {
    files.push(await put(`not-mail-${name}`, await readFile(path.join(brokenDir, 'not-mail', name))));
  }
  files.push(await put('stranger.eml', await answeringOurs(importStranger, ctx.import.replyMessageId)));
  files.push(await put('mention-answer.eml', mentionAnswer(ctx.import, 'Ja, jag ringer kunden i eftermiddag.')));
  for (let i = 1; i <= 50; i += 1) files.push(await put(`ack-${i}.eml`, acknowledgement(ctx.import, i)));
  files.push(await put('bounce.eml', await eximBounce(ctx.import, 'import')));
  ctx.run = await runImport(files);
});

imported(
  'one run of the command takes every file and says per file what became of it; only the files that are not mail fail',
  () => {
    const notMail = ctx.run.lines.filter((l) => path.basename(l.file).startsWith('not-mail-'));
    assert.is(ctx.run.lines.length, written.size, ctx.run.stderr);
    assert.is(ctx.run.code, 1, 'a failed file makes the exit code 1');
    assert.equal(
      ctx.run.lines.filter((l) => l.outcome === 'failed').map((l) => path.basename(l.file)),
      notMail.map((l) => path.basename(l.file)),
    );
    console.log(`  npm run mail:import: ${ctx.run.lines.length} files in ${(ctx.run.ms / 1000).toFixed(1)} s`);
  },
);

imported(
  'real replies from many mail programs: each case page shows the sender’s own lines, the quote folded away',
  async () => {
    const faults: string[] = [];
    for (const reply of replies) {
      const line = lineOf(`reply-${reply.file}.eml`);
      if (line.outcome !== 'created') {
        faults.push(`${reply.file}: ${line.outcome} ${line.error ?? ''}`);
        continue;
      }
      const { thread } = await casePage(line.caseNumber);
      const entry = thread.find((e) => e.side === 'customer');
      if (!entry?.html.includes('<details class="quoted">')) faults.push(`${reply.file}: nothing folded`);
      const hidden = reply.own.filter((own) => !entry?.shown.includes(squash(own)));
      if (hidden.length) faults.push(`${reply.file}: own lines not in sight: ${JSON.stringify(hidden)}`);
      if (!entry?.folded.includes(squash(reply.quoted)))
        faults.push(`${reply.file}: quoted line in sight: ${reply.quoted}`);
    }
    assert.ok(replies.length >= 40, `${replies.length} replies`);
    assert.equal(faults, []);
  },
);

imported(
  'broken MIME: each becomes a case with its title and its text, and the recovered files are listed on its entry',
  async () => {
    for (const name of Object.keys(brokenExpected).filter((n) => n !== overImap.broken)) {
      const line = lineOf(name);
      assert.is(line.outcome, 'created', `${name}: ${line.error}`);
      await assertBrokenShown(name, line.caseNumber);
    }
  },
);

imported(
  'a stranger quoting a case’s Message-ID gets a new case flagged for triage, linked to it; the case is untouched',
  async () => {
    const line = lineOf('stranger.eml');
    assert.is(line.outcome, 'stranger', line.error ?? '');
    assert.is.not(line.caseNumber, ctx.import.kase.number);
    const fresh = await casePage(line.caseNumber);
    assert.match(fresh.page, 'Avsändaren är okänd i ärendet som meddelandet svarar på');
    assert.match(fresh.page, `href="/cases/${ctx.import.kase.number}"`);
    assertFoldedRight(
      fresh.thread.find((e) => e.side === 'customer'),
      replyNamed(importStranger),
    );
    const named = await casePage(ctx.import.kase.number);
    assert.not.ok(
      named.thread.some((e) => e.shown.includes('John & Marc')),
      'not in the case it names',
    );
    assert.not.match(named.page, 'class="triage-flag"');
  },
);

imported(
  'a staff member answering a mention mail writes in the discussion under their name, not in the customer thread',
  async () => {
    const line = lineOf('mention-answer.eml');
    assert.equal([line.outcome, line.caseNumber], ['discussion', ctx.import.kase.number]);
    const discussion = await ctx.agent.get(`/cases/${ctx.import.kase.number}/discussion`);
    const { shown } = readBody(discussion.body);
    assert.match(shown, 'Anna Testsson');
    assert.match(shown, 'Ja, jag ringer kunden i eftermiddag.');
    assert.not.match(shown, 'nämnde dig i ärende');
    const { thread } = await casePage(ctx.import.kase.number);
    assert.not.ok(
      thread.some((e) => e.shown.includes('ringer kunden')),
      'nothing in the customer thread',
    );
  },
);

imported(
  '50 acknowledgements from the customer’s ticket system: 10 entries on the case, 40 possible loops for the administrator',
  async () => {
    const outcomes = Array.from({ length: 50 }, (_, i) => lineOf(`ack-${i + 1}.eml`).outcome);
    assert.equal(outcomes, [...Array(10).fill('appended'), ...Array(40).fill('possible_loop')]);
    const { thread } = await casePage(ctx.import.loopCase.number);
    assert.is(thread.filter((e) => e.author === 'Acme Helpdesk').length, 10);
    const loops = await ctx.admin.get('/admin/possible-loops');
    assert.is(loops.statusCode, 200);
    assert.is(loops.body.split(`href="/cases/${ctx.import.loopCase.number}"`).length - 1, 40);
  },
);

imported(
  'an exim bounce that also says Auto-Submitted marks our reply failed on the case page and makes no case',
  async () => {
    const line = lineOf('bounce.eml');
    assert.equal([line.outcome, line.caseNumber], ['bounce', ctx.import.kase.number]);
    const { thread } = await casePage(ctx.import.kase.number);
    const ours = thread.find((e) => e.shown.includes('Vi byter valsen'));
    assert.match(ours?.html ?? '', 'class="delivery-state state-failed"');
    assert.match(ours?.html ?? '', 'Kunde inte levereras');
    assert.match(ours?.html ?? '', /class="delivery-error">[^<]*per@acme\.se/);
    assert.ok(
      thread.some((e) => e.html.includes('class="mail-badge bounce"')),
      'the bounce is shown as one',
    );
  },
);

imported(
  'files that are not mail (empty, a PDF, random bytes, text without headers) are listed in Failed mail, with no case',
  async () => {
    const lines = ctx.run.lines.filter((l) => path.basename(l.file).startsWith('not-mail-'));
    assert.is(lines.length, 4);
    const page = await ctx.admin.get('/admin/inbound');
    for (const line of lines) {
      assert.equal([line.outcome, line.caseNumber], ['failed', null], line.file);
      assert.match(line.error ?? '', 'not an e-mail message');
      assert.match(page.body, `/admin/inbound/${line.inboundId}/retry`);
    }
    assert.match(page.body, 'Filen är inget e-postmeddelande (den saknar brevhuvud), så inget ärende skapades.');
    const titles = await ctx.db.selectFrom('cases').select('title').execute();
    assert.not.ok(titles.some((c) => c.title === '(no subject)' || c.title === '(inget ämne)'));
  },
);

imported.after(async () => {
  if (!isInstalled('dovecot')) await tearDown();
});

// ---------------------------------------------------------------------------------------------
// Read mail from a Dovecot mailbox

const overDovecot = needs(
  'dovecot',
  suite('Read mail from a real Dovecot mailbox, as the case page and the administration show it'),
);

const uids = new Map<string, number>();
let readReport: Awaited<ReturnType<typeof readMailbox>>;

// Each message's row, by the name it was appended under.
async function rowOf(name: string) {
  const uid = uids.get(name);
  assert.ok(uid, name);
  const row = await ctx.db
    .selectFrom('inbound_messages')
    .leftJoin('cases', 'cases.id', 'inbound_messages.case_id')
    .select([
      'inbound_messages.id',
      'inbound_messages.status',
      'inbound_messages.outcome',
      'inbound_messages.error',
      'cases.number',
    ])
    .where('inbound_messages.source', '=', 'imap')
    .where('inbound_messages.uid', '=', uid as number)
    .executeTakeFirstOrThrow();
  return row;
}

overDovecot.before(async () => {
  await shared();
  ctx.server = await startTestImapServer();
  const mails: [string, Buffer][] = [
    [overImap.bottom, await replyMail(overImap.bottom)],
    [overImap.interleaved, await replyMail(overImap.interleaved)],
    [overImap.broken, await readFile(path.join(brokenDir, overImap.broken))],
    ['stranger', await answeringOurs(overImap.stranger, ctx.imap.replyMessageId)],
    ['mention-answer', mentionAnswer(ctx.imap, 'Jag tar det, kunden får svar i dag.')],
    ...Array.from({ length: 50 }, (_, i) => [`ack-${i + 1}`, acknowledgement(ctx.imap, i + 1)] as [string, Buffer]),
    ['bounce', await eximBounce(ctx.imap, 'imap')],
    ...(await Promise.all(
      overImap.notMail.map(async (n) => [n, await readFile(path.join(brokenDir, 'not-mail', n))] as [string, Buffer]),
    )),
  ];
  // One connection appends them all, in order, as a mail server delivers them.
  const client = new ImapFlow({
    host: ctx.server.host,
    port: ctx.server.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: ctx.server.user, pass: ctx.server.password },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    for (const [name, raw] of mails) {
      const appended = await client.append('INBOX', raw, []);
      const uid = appended ? appended.uid : undefined;
      if (!uid) throw new Error(`no UID for ${name}`);
      uids.set(name, uid);
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  const form = parseForm(mailboxSchema, {
    name: 'Support',
    imap_host: ctx.server.host,
    imap_port: String(ctx.server.port),
    imap_security: 'none',
    imap_user: ctx.server.user,
    imap_password: ctx.server.password,
    folder: 'INBOX',
    after_read: 'seen',
  });
  if (!form.ok) throw new Error(`bad test mailbox: ${JSON.stringify(form.errors)}`);
  const mailbox = await createMailbox(ctx.db, form.data);
  const started = Date.now();
  readReport = await readMailbox(ctx.db, ctx.config, mailbox.id);
  console.log(`  Read mail: ${mails.length} messages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

overDovecot.after(async () => {
  await ctx.server?.close();
  await tearDown();
});

overDovecot('one read takes every message and marks each read', async () => {
  assert.is(readReport.error, undefined, JSON.stringify(readReport));
  const messages = await ctx.server.listMessages();
  assert.is(messages.length, uids.size);
  assert.ok(messages.every((m) => m.flags.includes('\\Seen')));
  // what Read mail now reports: the stranger's case is new, the staff answer and the ten
  // acknowledgements were added, the bounce and the 40 possible loops were kept and no more, and
  // only the files that are not mail failed
  assert.equal(
    { ...readReport, mailbox: undefined },
    { mailbox: undefined, created: 4, appended: 11, ignored: 41, failed: overImap.notMail.length, duplicates: 0 },
  );
});

overDovecot('a bottom-posted Swedish reply shows its answer under the folded quote', async () => {
  const row = await rowOf(overImap.bottom);
  assert.is(row.outcome, 'created', row.error ?? '');
  const entry = (await casePage(row.number)).thread.find((e) => e.side === 'customer');
  const reply = replyNamed(overImap.bottom);
  assert.equal([reply.style, reply.language], ['bottom', 'sv']);
  assertFoldedRight(entry, reply);
  // the answer sits under the quote, and stays in sight there
  assert.ok(
    (entry?.html.indexOf('<details class="quoted">') ?? -1) < (entry?.html.lastIndexOf(reply.own.at(-1) ?? '') ?? -1),
  );
});

overDovecot(
  'an interleaved Swedish reply keeps each answer in sight, in order, and folds each quoted question',
  async () => {
    const row = await rowOf(overImap.interleaved);
    assert.is(row.outcome, 'created', row.error ?? '');
    const entry = (await casePage(row.number)).thread.find((e) => e.side === 'customer');
    const reply = replyNamed(overImap.interleaved);
    assert.equal([reply.style, reply.language], ['interleaved', 'sv']);
    assertFoldedRight(entry, reply);
    const shown = entry?.shown ?? '';
    const at = reply.own.map((own) => shown.indexOf(squash(own)));
    assert.ok(
      at.every((i) => i >= 0),
      `own lines in sight: ${shown}`,
    );
    assert.equal(
      [...at].sort((a, b) => a - b),
      at,
      'in the order written',
    );
    assert.match(entry?.folded ?? '', squash(reply.quoted));
    assert.not.match(shown, squash(reply.quoted));
  },
);

overDovecot('a broken-MIME message keeps its text and its file', async () => {
  const row = await rowOf(overImap.broken);
  assert.is(row.outcome, 'created', row.error ?? '');
  await assertBrokenShown(overImap.broken, row.number);
});

overDovecot(
  'a stranger quoting a case’s Message-ID gets a new case flagged for triage; the case is untouched',
  async () => {
    const row = await rowOf('stranger');
    assert.is(row.outcome, 'stranger', row.error ?? '');
    const fresh = await casePage(row.number);
    assert.is.not(row.number, ctx.imap.kase.number);
    assert.match(fresh.page, 'Avsändaren är okänd i ärendet som meddelandet svarar på');
    assert.match(fresh.page, `href="/cases/${ctx.imap.kase.number}"`);
    assertFoldedRight(
      fresh.thread.find((e) => e.side === 'customer'),
      replyNamed(overImap.stranger),
    );
    const named = await casePage(ctx.imap.kase.number);
    assert.not.ok(
      named.thread.some((e) => e.shown.includes('John Günther')),
      'not in the case it names',
    );
    assert.not.match(named.page, 'class="triage-flag"');
  },
);

overDovecot('a staff member answering a mention mail lands in the discussion under their name', async () => {
  const row = await rowOf('mention-answer');
  assert.equal([row.outcome, row.number], ['discussion', ctx.imap.kase.number]);
  const { shown } = readBody((await ctx.agent.get(`/cases/${ctx.imap.kase.number}/discussion`)).body);
  assert.match(shown, 'Kalle Testsson');
  assert.match(shown, 'Jag tar det, kunden får svar i dag.');
  assert.not.match(shown, 'nämnde dig i ärende');
  const { thread } = await casePage(ctx.imap.kase.number);
  assert.not.ok(thread.some((e) => e.shown.includes('kunden får svar')));
});

overDovecot('50 acknowledgements: 10 entries on the case, 40 possible loops for the administrator', async () => {
  const outcomes = await Promise.all(Array.from({ length: 50 }, async (_, i) => (await rowOf(`ack-${i + 1}`)).outcome));
  assert.equal(outcomes, [...Array(10).fill('appended'), ...Array(40).fill('possible_loop')]);
  const { thread } = await casePage(ctx.imap.loopCase.number);
  assert.is(thread.filter((e) => e.author === 'Acme Helpdesk').length, 10);
  const loops = await ctx.admin.get('/admin/possible-loops');
  assert.is(loops.body.split(`href="/cases/${ctx.imap.loopCase.number}"`).length - 1, 40);
});

overDovecot('a bounce with Auto-Submitted marks our reply failed on the case page', async () => {
  const row = await rowOf('bounce');
  assert.equal([row.outcome, row.number], ['bounce', ctx.imap.kase.number]);
  const { thread } = await casePage(ctx.imap.kase.number);
  const ours = thread.find((e) => e.shown.includes('Vi byter valsen'));
  assert.match(ours?.html ?? '', 'class="delivery-state state-failed"');
  assert.match(ours?.html ?? '', /class="delivery-error">[^<]*per@acme\.se/);
});

overDovecot('files that are not mail go to Failed mail with their UID, never to a case', async () => {
  const page = await ctx.admin.get('/admin/inbound');
  for (const name of overImap.notMail) {
    const row = await rowOf(name);
    assert.equal([row.status, row.outcome, row.number], ['failed', 'not_mail', null], name);
    assert.match(page.body, `UID ${uids.get(name)}`);
    assert.match(page.body, `/admin/inbound/${row.id}/retry`);
  }
});

imported.run();
overDovecot.run();
