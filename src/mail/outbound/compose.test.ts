import { simpleParser } from 'mailparser';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sanitizeRichText } from '../../rich-text/sanitize.ts';
import { composeMail, forEmail } from './compose.ts';
import type { MailSettings } from './settings.ts';

const test = suite('Composing outgoing mail');

const settings: MailSettings = {
  smtp: null,
  smtpFromEnvironment: false,
  fromName: 'Acme support',
  fromAddress: 'support@casedesk.test',
  replyTo: null,
  subjectTag: '[#{number}]',
  messageIdDomain: 'casedesk.test',
};

const pixel = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const token = 'AbCdEfGhIjKlMnOpQrStUvWx12';

// A pasted image as Trix stores it, through the sanitiser as every stored body goes.
const trixFigure = (caption: string) =>
  sanitizeRichText(
    `<div>Se bilden:</div><figure data-trix-attachment="{}" class="attachment attachment--preview attachment--png">` +
      `<a href="/uploads/images/${token}"><img src="/uploads/images/${token}" width="1" height="1"></a>` +
      `<figcaption class="attachment__caption">${caption}</figcaption></figure>`,
  );

test('the thread keeps the Trix figure: its link, its image and its caption', () => {
  const stored = trixFigure(
    '<span class="attachment__name">pixel.png</span> <span class="attachment__size">70 Bytes</span>',
  );
  assert.match(stored, `<a href="/uploads/images/${token}"`);
  assert.match(stored, `<img src="/uploads/images/${token}"`);
  assert.match(stored, '<figcaption>pixel.png 70 Bytes</figcaption>');
});

test('the e-mail unwraps the relative image link and drops the file name and size caption', async () => {
  const stored = trixFigure(
    '<span class="attachment__name">pixel.png</span> <span class="attachment__size">70 Bytes</span>',
  );
  assert.is(
    forEmail(stored),
    `<div>Se bilden:</div><figure><img src="/uploads/images/${token}" width="1" height="1" /></figure>`,
  );
  const raw = await composeMail({
    settings,
    messageId: '<m1@casedesk.test>',
    to: ['per@acme.se'],
    subject: 'Bild',
    bodyHtml: stored,
    inlineImages: [{ token, contentType: 'image/png', content: pixel }],
  });
  const mail = await simpleParser(raw, { keepCidLinks: true });
  const html = String(mail.html);
  assert.match(html, `<img src="cid:${token.slice(0, 24)}@casedesk.test"`);
  assert.not.match(html, '/uploads/images/');
  assert.not.match(html, '<a ');
  assert.not.match(html, '70 Bytes');
  assert.not.match(mail.text ?? '', /uploads|70 Bytes|pixel\.png/);
  assert.match(mail.text ?? '', 'Se bilden:');
  assert.is(mail.attachments.length, 1);
});

test('other sizes Trix writes are dropped too; a caption the user wrote stays, and so do other links', () => {
  for (const size of ['1 Byte', '0 Bytes', '1.5 KB', '12.25 MB', '3 GB']) {
    assert.not.match(forEmail(trixFigure(`skärmbild 2026.png ${size}`)), '<figcaption>', size);
  }
  assert.not.match(forEmail(trixFigure('70 Bytes')), '<figcaption>');
  assert.match(forEmail(trixFigure('Skrivaren efter lagningen')), '<figcaption>Skrivaren efter lagningen</figcaption>');
  assert.match(forEmail(trixFigure('Kostar 70 kronor')), '<figcaption>Kostar 70 kronor</figcaption>');
  const links = sanitizeRichText(
    '<div><a href="https://acme.se/uploads/images/x">a</a> <a href="/cases/2026-00001">b</a></div>',
  );
  assert.is(forEmail(links), links);
});

test.run();
