import { compile } from 'html-to-text';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MailSettings } from './settings.ts';

export type InlineImage = { token: string; contentType: string; content: Buffer };
export type MailAttachment = { fileName: string; contentType: string; content: Buffer };

export type OutgoingMail = {
  settings: MailSettings;
  messageId: string;
  to: string[];
  cc?: string[];
  subject: string;
  // sanitised rich text; images point at /uploads/images/<token>
  bodyHtml: string;
  // the plain-text alternative when the caller has it already; otherwise made from bodyHtml
  text?: string;
  inlineImages?: InlineImage[];
  attachments?: MailAttachment[];
  inReplyTo?: string | null;
  references?: string[];
  // system mail (notifications, reminders): tells mail programs and autoresponders not to answer
  autoSubmitted?: boolean;
  caseNumber?: string;
  date?: Date;
};

// "[#2026-00042] Printer jam" — the tag once, even when the title already carries it.
export function subjectWithTag(tagFormat: string, caseNumber: string, title: string): string {
  const tag = tagFormat.replaceAll('{number}', caseNumber);
  const bare = title
    .replaceAll(tag, '')
    .replace(/\s{2,}/g, ' ')
    .trim();
  return `${tag} ${bare}`.trim();
}

const imagePath = /(<img\b[^>]*\bsrc=")\/uploads\/images\/([A-Za-z0-9_-]+)(")/g;

export function imageTokensIn(html: string): string[] {
  return [...html.matchAll(imagePath)].map((m) => m[2] as string);
}

const contentIdOf = (token: string, domain: string) => `${token.slice(0, 24)}@${domain}`;

// Trix stores a pasted image as <figure><a href="/uploads/images/…"><img src="/uploads/images/…">
// </a><figcaption>name.png 70 Bytes</figcaption></figure>. The link is relative (nothing a mail
// program can open) and the caption is only the file name and size Trix adds; the thread view
// keeps both, the e-mail neither. A caption the user wrote stays.
const relativeImageLink = /<a\b[^>]*\bhref="\/uploads\/images\/[^"]*"[^>]*>([\s\S]*?)<\/a>/gi;
const figcaption = /<figcaption\b[^>]*>([\s\S]*?)<\/figcaption>/gi;
// Trix's own size format: "1 Byte", "70 Bytes", "1.5 KB", "12.25 MB" …, after the file name
const trixCaption = /^(?:\S.*\s)?\d+(?:\.\d{1,2})? (?:Bytes?|[KMGTP]B)$/;

const captionText = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

export function forEmail(bodyHtml: string): string {
  return bodyHtml
    .replace(relativeImageLink, (_m, inner: string) => inner)
    .replace(figcaption, (whole, inner: string) => (trixCaption.test(captionText(inner)) ? '' : whole));
}

// Compiled once: html-to-text's convert() builds its whole formatter on every call, which cost
// more than composing the rest of the mail.
const htmlToText = compile({
  wordwrap: 76,
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
  ],
});

// The e-mail as it leaves: HTML and plain-text alternatives, pasted images as inline parts
// whose Content-ID the HTML names, documents as attachments. Returns the raw RFC 5322 bytes.
export async function composeMail(mail: OutgoingMail): Promise<Buffer> {
  const domain = mail.settings.messageIdDomain;
  const bodyHtml = forEmail(mail.bodyHtml);
  const html = bodyHtml.replace(imagePath, (_m, before: string, token: string, after: string) => {
    return `${before}cid:${contentIdOf(token, domain)}${after}`;
  });
  const document = `<!doctype html><html><head><meta charset="utf-8"></head><body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.45; color: #1d2430;">${html}</body></html>`;
  const text = mail.text ?? htmlToText(bodyHtml);
  const headers: Record<string, string> = {};
  if (mail.autoSubmitted) headers['Auto-Submitted'] = 'auto-generated';
  if (mail.caseNumber) headers['X-Casedesk-Case'] = mail.caseNumber;
  const composer = new MailComposer({
    from: { name: mail.settings.fromName, address: mail.settings.fromAddress },
    to: mail.to,
    cc: mail.cc?.length ? mail.cc : undefined,
    replyTo: mail.settings.replyTo ?? undefined,
    subject: mail.subject,
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo ?? undefined,
    references: mail.references?.length ? mail.references : undefined,
    date: mail.date ?? new Date(),
    headers,
    html: document,
    text,
    attachments: [
      ...(mail.inlineImages ?? []).map((image, index) => ({
        filename: `image-${index + 1}.${image.contentType.split('/')[1] ?? 'bin'}`,
        content: image.content,
        contentType: image.contentType,
        cid: contentIdOf(image.token, domain),
        contentDisposition: 'inline' as const,
      })),
      ...(mail.attachments ?? []).map((file) => ({
        filename: file.fileName,
        content: file.content,
        contentType: file.contentType,
      })),
    ],
  });
  return composer.compile().build();
}
