import { createHash } from 'node:crypto';
import { type AddressObject, simpleParser } from 'mailparser';
import { sanitizeMailHtml } from '../../rich-text/sanitize.ts';

export type MailPreview = {
  from: string;
  to: string[];
  cc: string[];
  replyTo: string[];
  subject: string;
  messageId: string | null;
  // safe to put in our page; inline images as data: URLs
  html: string;
  text: string;
  attachments: { fileName: string; contentType: string; size: number }[];
  // sha256 of everything above but the Message-ID, and of every part's bytes: two previews with
  // the same digest show the same mail, whenever each was composed
  digest: string;
};

// Only types a browser shows without running anything become data: URLs.
const showableImage = /^image\/(png|jpeg|gif|webp)$/;

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  return [field ?? []]
    .flat()
    .flatMap((group) => group.value)
    .map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? '')))
    .filter(Boolean);
}

const unescapeAttribute = (value: string) =>
  value.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

// A composed message read back the way a mail program reads it, so the preview shows the very
// bytes the outbox will send rather than a second rendering of the reply.
export async function previewMail(raw: Buffer): Promise<MailPreview> {
  const parsed = await simpleParser(raw, { keepCidLinks: true });
  const inline = new Map(
    parsed.attachments
      .filter((a) => a.cid && showableImage.test(a.contentType))
      .map((a) => [a.cid as string, `data:${a.contentType};base64,${a.content.toString('base64')}`]),
  );
  const shown = new Set<string>();
  const html = sanitizeMailHtml(parsed.html || '').replace(/\bsrc="cid:([^"]*)"/g, (whole, cid: string) => {
    const url = inline.get(unescapeAttribute(cid));
    if (!url) return whole;
    shown.add(unescapeAttribute(cid));
    return `src="${url}"`;
  });
  const attached = parsed.attachments.filter((a) => !(a.cid && shown.has(a.cid)));
  const shownMail = {
    from: addresses(parsed.from)[0] ?? '',
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    replyTo: addresses(parsed.replyTo),
    subject: parsed.subject ?? '',
    html,
    text: parsed.text ?? '',
    // Images shown in the text are part of it; everything else arrives as an attachment.
    attachments: attached.map((a) => ({
      fileName: a.filename ?? 'attachment',
      contentType: a.contentType,
      size: a.size,
    })),
  };
  const contents = attached.map((a) => createHash('sha256').update(a.content).digest('hex'));
  const digest = createHash('sha256')
    .update(JSON.stringify([shownMail, contents]))
    .digest('hex');
  return { ...shownMail, messageId: parsed.messageId ?? null, digest };
}
