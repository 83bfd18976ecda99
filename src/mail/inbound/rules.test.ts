import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusKind } from '../../db/schema.ts';
import { foldQuotedHtml, quotedLineRanges, referencedCids, rewriteCidLinks, textToHtml } from './body.ts';
import { isAutomaticReply } from './filters/auto-reply.ts';
import { isBounce } from './filters/bounce.ts';
import { caseNumbersInSubject, trustedReferences } from './filters/case-match.ts';
import { domainCandidates, isSharedMailDomain } from './filters/sender.ts';
import { repairMimeStructure } from './mime-repair.ts';
import { looksLikeMail, type ParsedInbound } from './parse.ts';
import { caseTitleFromSubject, decideReplyEffect, type ReplyEffect } from './reply-rules.ts';

const test = suite('Inbound mail rules');
const now = new Date('2026-11-27T12:00:00Z');
const daysAgo = (n: number) => new Date(now.getTime() - n * 24 * 60 * 60 * 1000);

test('what a customer reply does, for every status kind and closing age', () => {
  const cases: [StatusKind, Date | null, ReplyEffect][] = [
    ['open', null, 'append'],
    ['work_order', null, 'append'],
    ['waiting', null, 'resume'],
    ['closed', daysAgo(0), 'reopen'],
    ['closed', daysAgo(14), 'reopen'],
    ['closed', daysAgo(14.01), 'new_linked'],
    ['closed', daysAgo(400), 'new_linked'],
    ['closed', null, 'reopen'],
  ];
  for (const [statusKind, closedAt, effect] of cases) {
    assert.is(
      decideReplyEffect({ statusKind, closedAt, now, reopenWithinDays: 14 }),
      effect,
      `${statusKind} ${closedAt}`,
    );
  }
  assert.is(decideReplyEffect({ statusKind: 'closed', closedAt: daysAgo(1), now, reopenWithinDays: 0 }), 'new_linked');
});

test('a case title is the subject without reply prefixes and case tags', () => {
  const tag = '[#{number}]';
  assert.is(caseTitleFromSubject('SV: Re: AW: Fwd: FW: VB: VS: Skrivaren', tag), 'Skrivaren');
  assert.is(caseTitleFromSubject('RE: [#2026-00042] Sv: Skrivaren  fastnar ', tag), 'Skrivaren fastnar');
  assert.is(caseTitleFromSubject('Svar om leverans', tag), 'Svar om leverans');
  assert.is(caseTitleFromSubject('  Re:  ', tag), '(no subject)');
  assert.is(caseTitleFromSubject('', tag), '(no subject)');
});

test('case numbers are found in subjects by the configured tag format', () => {
  assert.equal(caseNumbersInSubject('SV: Re: [#2026-00042] Skrivaren', '[#{number}]'), ['2026-00042']);
  assert.equal(caseNumbersInSubject('Ärende #A-7 klart', 'Ärende #{number}'), ['A-7']);
  assert.equal(caseNumbersInSubject('[Ticket#123] hej', '[#{number}]'), []);
});

test('references dressed as ours count only when their signature verifies', () => {
  const forged = '<cd.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB@casedesk.test>';
  assert.equal(trustedReferences(forged, ['<a@kund.se>', forged], 'secret'), ['<a@kund.se>']);
  assert.equal(trustedReferences('<b@x>', ['<a@x>', '<c@x>'], 'secret'), ['<b@x>', '<c@x>', '<a@x>']);
});

test('shared mail domains never place a sender at a customer', () => {
  for (const d of ['gmail.com', 'GMAIL.com', 'hotmail.com', 'gmx.de', 'gmx.net', 'web.de', 'telia.com', 'spray.se'])
    assert.ok(isSharedMailDomain(d), d);
  assert.not.ok(isSharedMailDomain('acme.se'));
  assert.equal(domainCandidates('per@mail.Acme.se'), ['mail.acme.se', 'acme.se']);
});

const mail = (
  over: Omit<Partial<ParsedInbound>, 'headers'> & { headers?: Partial<ParsedInbound['headers']> },
): ParsedInbound => ({
  messageId: null,
  inReplyTo: null,
  references: [],
  subject: '',
  from: { address: 'per@acme.se', name: '' },
  to: [],
  cc: [],
  replyTo: null,
  date: null,
  html: null,
  text: '',
  attachments: [],
  isReport: false,
  ...over,
  headers: {
    autoSubmitted: null,
    xAutoreply: null,
    xAutorespond: null,
    xAutoResponseSuppress: null,
    precedence: null,
    returnPath: null,
    listId: null,
    xCasedeskCase: null,
    xFailedRecipients: null,
    contentType: null,
    reportType: null,
    ...over.headers,
  },
});

test('automatic answers are known by their headers and their subjects', () => {
  assert.ok(isAutomaticReply(mail({ headers: { autoSubmitted: 'auto-replied' } })));
  assert.not.ok(isAutomaticReply(mail({ headers: { autoSubmitted: 'no' } })));
  assert.ok(isAutomaticReply(mail({ headers: { xAutoreply: 'yes' } })));
  assert.ok(isAutomaticReply(mail({ headers: { xAutoResponseSuppress: 'oof, dr' } })));
  assert.ok(isAutomaticReply(mail({ headers: { precedence: 'bulk' } })));
  assert.ok(isAutomaticReply(mail({ headers: { reportType: 'feedback-report' } })));
  for (const subject of [
    'Out of Office: Hej',
    'Automatic reply: Faktura',
    'Autosvar: Faktura',
    'Frånvaro: Hej',
    'SV: Automatiskt svar: x',
  ])
    assert.ok(isAutomaticReply(mail({ subject })), subject);
  assert.not.ok(isAutomaticReply(mail({ subject: 'Frånvaro i morgon på kontoret' })));
  assert.not.ok(isAutomaticReply(mail({ subject: 'Re: Skrivaren' })));
});

test('bounces are known by their report type, or by a mailer daemon with a bounce subject', () => {
  assert.ok(isBounce(mail({ headers: { reportType: 'delivery-status' } })));
  assert.ok(isBounce(mail({ from: { address: 'MAILER-DAEMON@x.se', name: '' }, subject: 'Undeliverable: Hej' })));
  assert.not.ok(
    isBounce(mail({ from: { address: 'postmaster@x.se', name: '' }, subject: 'email bounce notification' })),
  );
  assert.not.ok(isBounce(mail({ subject: 'Undeliverable: Hej' })), 'a person may write that subject');
});

test('quoted history in plain text is each quoted run with its attribution or header block, or from an unmarked header block to the end', () => {
  assert.equal(quotedLineRanges(['Tack!', '', 'Den 24 nov. 2026 skrev Kalle <k@x.se>:', '> Hej']), [[2, 3]]);
  assert.equal(quotedLineRanges(['Tack!', '-----Original Message-----', 'From: x', '', 'Gammal']), [[1, 4]]);
  assert.equal(quotedLineRanges(['Tack!', '', 'Från: Kalle', 'Skickat: den 24 november', 'Till: Per', 'Ämne: Hej']), [
    [2, 5],
  ]);
  assert.equal(quotedLineRanges(['Tack!', 'Kalle skrev:', '> Hej', '>', '> /K']), [[1, 4]]);
  assert.equal(quotedLineRanges(['> fråga?', 'svar', '> fråga 2?', 'svar 2']), [
    [0, 0],
    [2, 2],
  ]);
  assert.equal(quotedLineRanges(['> fråga?', '> mer']), [], 'nothing of the sender in sight: nothing folded');
  assert.equal(quotedLineRanges(['Den 24 nov. 2026 skrev Kalle <k@x.se>:', '> Hej', '', 'Svar under']), [[0, 1]]);
  assert.equal(quotedLineRanges(['Tack', 'On Mon, 1 Dec 2026, Kalle wrote:', 'Gammalt utan >', 'mer']), [[1, 3]]);
  assert.is(
    textToHtml('-----Ursprungligt meddelande-----\nFrån: Kalle\nSkickat: idag\n\n> Fråga?\n\nSvar.'),
    '<details class="quoted"><summary>···</summary><div>-----Ursprungligt meddelande-----<br>Från: Kalle<br>Skickat: idag<br><br>&gt; Fråga?</div></details><div>Svar.</div>',
    'a bottom-posted answer under a Swedish Outlook header stays in sight',
  );
  assert.is(textToHtml('Bara <text>\nrad två'), '<div>Bara &lt;text&gt;<br>rad två</div>');
});

test('X-Failed-Recipients from a mailer daemon is a bounce whatever its subject, Auto-Submitted or not', () => {
  const daemon = { address: 'Mailer-Daemon@mx.acme.se', name: 'Mail Delivery System' };
  const failed = { xFailedRecipients: 'per@acme.se', autoSubmitted: 'auto-replied' };
  assert.ok(isBounce(mail({ from: daemon, subject: 'Leveransen misslyckades', headers: failed })));
  assert.ok(isBounce(mail({ subject: 'Leveransen misslyckades', headers: { ...failed, returnPath: '<>' } })));
  assert.not.ok(
    isBounce(mail({ from: { address: 'per@acme.se', name: 'Per' }, subject: 'Hej', headers: failed })),
    "a person's mail is not made a bounce by the header alone",
  );
});

test('the MIME repair leaves a well-formed message byte for byte as it came, and mends only broken lines', () => {
  const wellFormed = [
    'From: a@b.se',
    'Content-Type: multipart/mixed; boundary="m"',
    '',
    '--m',
    'Content-Type: multipart/alternative; boundary="a"',
    '',
    '--a',
    'Content-Type: text/plain; name=" "',
    '',
    'Hej',
    '--a',
    'Content-Type: text/html',
    '',
    '<p>Hej</p>',
    '--a--',
    '--m',
    'Content-Type: application/pdf; name="a.pdf"',
    '',
    'JVBERi0=',
    '--m--',
    '',
  ].join('\r\n');
  assert.is(repairMimeStructure(Buffer.from(wellFormed)), null);
  const broken = wellFormed
    .replace('boundary="a"', 'boundary="declared"')
    .replace('--m\r\nContent-Type: application', '--m (bilaga)\r\nContent-Type: application');
  const mended = repairMimeStructure(Buffer.from(broken))?.toString() ?? '';
  assert.is(mended, wellFormed, "the parts' own boundary, and the delimiter without its text");
});

test('a mail has a header block of mail fields; empty files, PDFs, pictures and bare text have none', () => {
  assert.ok(looksLikeMail(Buffer.from('From: a@b.se\r\nSubject: Hej\r\n\r\nText')));
  assert.ok(looksLikeMail(Buffer.from('From a@b.se Thu Dec  3 08:00:00 2026\nSubject: Hej\n\nText')), 'an mbox line');
  assert.ok(looksLikeMail(Buffer.from(' folded garbage\r\nSubject: Hej\r\nFrom: a@b.se\r\n\r\nText')));
  assert.ok(looksLikeMail(Buffer.from('Subject: Bara rubrik')), 'a header without a body');
  assert.not.ok(looksLikeMail(Buffer.alloc(0)));
  assert.not.ok(looksLikeMail(Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n')));
  assert.not.ok(looksLikeMail(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])));
  assert.not.ok(looksLikeMail(Buffer.from('Hej!\n\nJag skickar filen.\n')));
  assert.not.ok(
    looksLikeMail(Buffer.from('Mötet flyttas.\nSubject: se rubriken\nVi ses på torsdag.\nHälsningar\nPer\n')),
    'prose that quotes a header line',
  );
});

test('quoted history in HTML is folded where it stands, keeping the HTML well-formed', () => {
  const html = '<div><p>Ny text</p><blockquote type="cite"><p>Gammal</p></blockquote></div>';
  assert.is(
    foldQuotedHtml(html),
    '<div><p>Ny text</p><details class="quoted"><summary>···</summary><blockquote type="cite"><p>Gammal</p></blockquote></details></div>',
  );
  const outlook = '<p>Svar</p><div id="divRplyFwdMsg"><b>Från:</b> Kalle<br><b>Skickat:</b> idag</div><p>Gammalt</p>';
  assert.match(
    foldQuotedHtml(outlook),
    /^<p>Svar<\/p><details class="quoted"><summary>···<\/summary><div id="divRplyFwdMsg">/,
  );
  const interleaved =
    '<div class="gmail_quote"><div>Den 24 nov. 2026 skrev Kalle &lt;k@x.se&gt;:</div><blockquote class="gmail_quote">Fråga 1?</blockquote><div>Svar 1</div><blockquote class="gmail_quote">Fråga 2?</blockquote><div>Svar 2</div></div>';
  assert.is(
    foldQuotedHtml(interleaved),
    '<div class="gmail_quote"><details class="quoted"><summary>···</summary><div>Den 24 nov. 2026 skrev Kalle &lt;k@x.se&gt;:</div><blockquote class="gmail_quote">Fråga 1?</blockquote></details><div>Svar 1</div><details class="quoted"><summary>···</summary><blockquote class="gmail_quote">Fråga 2?</blockquote></details><div>Svar 2</div></div>',
    'answers between the quotes stay in sight',
  );
  const onlyQuote = '<blockquote type="cite">Bara citat</blockquote>';
  assert.is(foldQuotedHtml(onlyQuote), onlyQuote, 'nothing new above: nothing to fold');
  const entities =
    '<p>Hej &amp; tack &lt;3</p><p>On Mon,&nbsp;1 Dec 2026, Kalle &lt;k@x.se&gt; wrote:</p><p>Gammalt</p>';
  assert.match(
    foldQuotedHtml(entities),
    /^<p>Hej &amp; tack &lt;3<\/p><p><\/p><details class="quoted"><summary>···<\/summary><p>On Mon/,
    'text read decoded',
  );
});

test('cid: images are read from attributes, and only their src is rewritten, the rest kept as it came', () => {
  const html = `<p>cid:text</p><img SRC = 'cid:Logo%40x' alt=logo><td background="cid:bg"><img src=cid:gone>`;
  assert.equal([...referencedCids(html)], ['logo@x', 'bg', 'gone']);
  assert.is(
    rewriteCidLinks(html, new Map([['logo@x', '/uploads/images/t1']])),
    `<p>cid:text</p><img src="/uploads/images/t1" alt=logo><td background="cid:bg"><img src=cid:gone>`,
  );
});

test.run();
