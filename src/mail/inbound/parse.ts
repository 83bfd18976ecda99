import { type AddressObject, type HeaderValue, type ParsedMail, simpleParser } from 'mailparser';
import addressparser from 'nodemailer/lib/addressparser';
import { withoutNul } from '../../db/text.ts';
import { repairLossyText, utf8SequenceLength } from './charset-repair.ts';
import { repairMimeStructure } from './mime-repair.ts';

export type MailAddress = { address: string; name: string };

export type InboundAttachment = {
  fileName: string | null;
  contentType: string;
  content: Buffer;
  // without angle brackets, as "cid:" URLs in the HTML name it
  contentId: string | null;
  // shown in the text rather than attached (Content-Disposition: inline, or part of multipart/related)
  inline: boolean;
};

// The headers the filters decide on, each as the lower-cased text of the first such header.
export type FilterHeaders = {
  autoSubmitted: string | null;
  xAutoreply: string | null;
  xAutorespond: string | null;
  xAutoResponseSuppress: string | null;
  precedence: string | null;
  returnPath: string | null;
  listId: string | null;
  xCasedeskCase: string | null;
  // exim's and Gmail's list of the addresses a delivery failed for; only bounces carry it
  xFailedRecipients: string | null;
  // "multipart/report" and its report-type ("delivery-status", "feedback-report", …)
  contentType: string | null;
  reportType: string | null;
};

// One inbound message as the pipeline sees it; mailparser's own types stay in this file.
export type ParsedInbound = {
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: MailAddress | null;
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress | null;
  date: Date | null;
  html: string | null;
  text: string;
  attachments: InboundAttachment[];
  headers: FilterHeaders;
  // a multipart/report (delivery status, feedback report, read receipt)
  isReport: boolean;
};

export class MessageTooLargeError extends Error {
  constructor(
    readonly sizeBytes: number,
    readonly maxBytes: number,
  ) {
    super(
      `The message is ${(sizeBytes / 1024 / 1024).toFixed(1)} MB, larger than the limit of ` +
        `${Math.round(maxBytes / 1024 / 1024)} MB (Administration → case settings, max_inbound_mb).`,
    );
  }
}

function headerText(value: HeaderValue | HeaderValue[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return null;
  if (typeof first === 'string') return first.trim();
  if (first instanceof Date) return first.toISOString();
  if (typeof first === 'object' && 'value' in first && typeof first.value === 'string') return first.value.trim();
  if (typeof first === 'object' && 'text' in first && typeof first.text === 'string') return first.text.trim();
  return null;
}

function lower(value: string | null): string | null {
  return value === null ? null : value.toLowerCase();
}

function addressList(field: AddressObject | AddressObject[] | undefined): MailAddress[] {
  const flatten = (entries: AddressObject['value']): MailAddress[] =>
    entries.flatMap((entry) =>
      entry.group
        ? flatten(entry.group)
        : entry.address
          ? [{ address: entry.address.trim(), name: (entry.name ?? '').trim() }]
          : [],
    );
  return [field ?? []].flat().flatMap((group) => flatten(group.value));
}

// A Message-ID as a key we can store and look up. Control characters (a NUL, which PostgreSQL
// refuses, or the byte Dovecot sends in its place) and U+FFFD (an undecodable byte) are dropped.
// One longer than any real one is no use as a key and would not fit its index (a btree entry
// holds at most 2704 bytes): it counts as missing.
export function cleanMessageId(id: string): string | null {
  const clean = id.trim().replace(/[\p{Cc}\ufffd]/gu, '');
  return clean.length <= 500 && /^<[^<>\s]+>$/.test(clean) ? clean : null;
}

// "<a@b> <c@d>" or ["<a@b>", …] → ["<a@b>", "<c@d>"]; mailparser gives either.
function messageIds(value: string | string[] | undefined): string[] {
  const text = [value ?? []].flat().join(' ');
  return [...text.matchAll(/<[^<>\s]+>/g)].flatMap((m) => cleanMessageId(m[0]) ?? []);
}

// The raw header block, unfolded, as bytes: mailparser turns 8-bit header bytes that are not
// UTF-8 into U+FFFD, so a header written raw in the message's charset is read again from here.
function rawHeaderValue(raw: Buffer, name: string): Buffer | null {
  const head = raw.subarray(0, Math.min(raw.length, 64 * 1024));
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const block = (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n[ \t]+/g, ' ');
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(block);
  return match?.[1] === undefined ? null : Buffer.from(match[1], 'latin1');
}

// TextDecoder's name for a charset as mail declares it; raw 8-bit text cannot be ISO-2022-JP,
// which Japanese mailers then mean as Shift_JIS.
function decoderLabel(charset: string): string {
  const c = charset.toLowerCase().replace(/^x-/, '');
  if (c.startsWith('iso-2022-jp')) return 'shift_jis';
  if (/gb2312|^gbk$|^cp936$/.test(c)) return 'gbk';
  return c;
}

const multiByte = /^(gbk|gb18030|big5|shift_jis|euc-jp|euc-kr|utf-8)$/;

// The charsets a message declares anywhere, multi-byte ones first: a raw 8-bit header is most
// often in the charset of the message's own text, and a multi-byte decoding that succeeds
// strictly is far likelier right than a single-byte one, which always succeeds.
function declaredCharsets(raw: Buffer): string[] {
  const head = raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString('latin1');
  const found = [...head.matchAll(/charset\s*=\s*"?([A-Za-z0-9._:-]+)/gi)].map((m) => decoderLabel(m[1] as string));
  const unique = [...new Set(found)];
  return [...unique.filter((c) => multiByte.test(c)), ...unique.filter((c) => !multiByte.test(c))];
}

function decodeWith(bytes: Buffer, charset: string): string | null {
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

// IMAP cannot carry a NUL, so Dovecot sends each NUL of a stored message as the byte 0x80, which
// no UTF-8 sequence starts with. Text that is UTF-8 but for such bytes is read without them, when
// it is UTF-8 by its other bytes or by the charset the message declares; else null.
function utf8WithoutNulStandIns(bytes: Buffer, utf8Declared: boolean): string | null {
  const kept: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const byte = bytes[i] as number;
    const length = byte < 0x80 ? 1 : utf8SequenceLength(bytes, i);
    if (length) kept.push(...bytes.subarray(i, i + length));
    else if (byte !== 0x80) return null;
    i += length || 1;
  }
  const utf8 = kept.some((b) => b >= 0x80) || utf8Declared;
  return utf8 ? decodeWith(Buffer.from(kept), 'utf-8') : null;
}

// A header written raw in 8-bit (no encoded words), which mailparser can only guess at: decoded
// as UTF-8 (also around Dovecot's stand-ins for NULs), else in a charset the message declares,
// else as windows-1252, which reads every byte. null when the header is not like that and
// mailparser's reading stands.
function rawEightBitHeader(raw: Buffer, name: string): string | null {
  const bytes = rawHeaderValue(raw, name);
  if (!bytes || bytes.includes('=?') || !bytes.some((b) => b >= 0x80)) return null;
  const charsets = declaredCharsets(raw);
  const text =
    decodeWith(bytes, 'utf-8') ??
    utf8WithoutNulStandIns(bytes, charsets.includes('utf-8')) ??
    charsets.map((charset) => decodeWith(bytes, charset)).find((decoded) => decoded !== null) ??
    decodeWith(bytes, 'windows-1252');
  return text == null ? null : text.replace(/\s+/g, ' ').trim();
}

// A subject of encoded words in a charset no decoder knows ("unknown-8bit", which gateways write
// for 8-bit text of no known charset) or mislabelled UTF-8: mailparser reads the bytes as UTF-8
// and loses each other one to U+FFFD. Read again by decodeEncodedWords, such bytes as
// windows-1252; null when mailparser lost nothing or the reading again loses as much.
function rereadEncodedSubject(raw: Buffer, parsed: string): string | null {
  if (!parsed.includes('\ufffd')) return null;
  const header = rawHeaderValue(raw, 'subject')?.toString('latin1');
  if (!header?.includes('=?')) return null;
  const text = decodeEncodedWords(header).replace(/\s+/g, ' ').trim();
  return text.includes('\ufffd') ? null : text;
}

// How mailparser is asked to read a message.
const parserOptions = {
  // we rewrite cid: links to stored images ourselves, and make our own HTML of plain text
  keepCidLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  // delivery reports stay a part of their own (the bounce filter reads them), not body text
  keepDeliveryStatus: true,
} as const;

function decodeTransferEncoding(body: Buffer, encoding: string | null): Buffer {
  const text = body.toString('latin1');
  if (encoding === 'base64') return Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding !== 'quoted-printable') return body;
  const bytes = text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1');
}

// A multipart in which mailparser found no part at all, as it names no boundary or one that
// never comes; the customer's words would be missing from the case. Either the parts are there
// after all, behind a boundary parameter that lost its folding space and with it its header
// (read again with the boundary that the first part's line names), or the body is plain text
// sent as multipart (a web form; Apple Mail), which is then the text: decoded by the message's
// Content-Transfer-Encoding, read in its charset, as UTF-8, or else as windows-1252.
async function readPartlessMultipart(raw: Buffer, mail: ParsedMail): Promise<ParsedMail | string | null> {
  const contentType = mail.headers.get('content-type');
  if (!contentType || typeof contentType !== 'object' || !('value' in contentType)) return null;
  const type = String(contentType.value).toLowerCase();
  const hasHtml = typeof mail.html === 'string' && mail.html.trim() !== '';
  if (!type.startsWith('multipart/') || (mail.text ?? '').trim() || hasHtml || mail.attachments.length) return null;
  const end = /\r?\n\r?\n/.exec(raw.subarray(0, 64 * 1024).toString('latin1'));
  if (!end) return null;
  const body = raw.subarray(end.index + end[0].length);
  const params = 'params' in contentType ? (contentType.params as Record<string, string>) : {};
  if (params.boundary && body.includes(`--${params.boundary}`)) return null;
  const partLine = /^--([^\s"]{1,70})[ \t]*\r?\ncontent-[\w-]+:/im.exec(body.toString('latin1'));
  if (partLine) {
    const header = raw
      .subarray(0, end.index)
      .toString('latin1')
      .replace(/^content-type:.*(?:\r?\n[ \t].*)*(?:\r?\n|$)/gim, '');
    const contentTypeLine = `Content-Type: ${type}; boundary="${partLine[1]}"`;
    const again = Buffer.concat([Buffer.from(`${header.trimEnd()}\r\n${contentTypeLine}\r\n\r\n`, 'latin1'), body]);
    return simpleParser(again, parserOptions);
  }
  const encoding = headerText(mail.headers.get('content-transfer-encoding'))?.toLowerCase() ?? null;
  const bytes = decodeTransferEncoding(body, encoding);
  const charsets = [...(params.charset ? [decoderLabel(params.charset)] : []), 'utf-8', 'windows-1252'];
  const text = charsets.map((charset) => decodeWith(bytes, charset)).find((decoded) => decoded != null);
  return text?.trim() ? text : null;
}

// The last resort when a multipart's structure did not parse and neither text nor HTML came of
// it: the first text/plain part as it stands in the raw message, from its header to the next
// delimiter-like line, decoded by its own Content-Transfer-Encoding and charset. A text part
// that is a file (named, or an attachment) is not the body, nor is one inside an attached
// message (a forward without words of its own stays that).
function rawTextPart(raw: Buffer, mail: ParsedInbound): string | null {
  if (!mail.headers.contentType?.startsWith('multipart/')) return null;
  if (mail.attachments.some((a) => a.contentType === 'message/rfc822')) return null;
  const text = raw.toString('latin1');
  const headerEnd = /\r?\n\r?\n/.exec(text);
  if (!headerEnd) return null;
  const body = text.slice(headerEnd.index + headerEnd[0].length);
  const header = /^content-type:[ \t]*text\/plain\b[^\n]*(?:\r?\n(?!\r?\n)[^\n]*)*?\r?\n\r?\n/im.exec(body);
  if (!header || /\b(?:file)?name\*?=|^content-disposition:[ \t]*attachment/im.test(header[0])) return null;
  const start = header.index + header[0].length;
  const end = /^--\S*[ \t]*$/m.exec(body.slice(start));
  const content = body.slice(start, end ? start + end.index : body.length);
  const encoding = /^content-transfer-encoding:[ \t]*([\w-]+)/im.exec(header[0])?.[1]?.toLowerCase() ?? null;
  const charset = /charset\s*=\s*"?([A-Za-z0-9._:-]+)/i.exec(header[0])?.[1];
  const bytes = decodeTransferEncoding(Buffer.from(content, 'latin1'), encoding);
  const decoded = [...(charset ? [decoderLabel(charset)] : []), 'utf-8', 'windows-1252']
    .map((label) => decodeWith(bytes, label))
    .find((d) => d != null);
  return decoded?.trim() ? decoded.trim() : null;
}

// An encoded word labelled ISO-2022-JP that holds 8-bit bytes, which mailparser then misreads.
function hasMislabelledJapanese(header: string): boolean {
  return [...header.matchAll(/=\?iso-2022-jp\?b\?([^?]*)\?=/gi)].some((m) =>
    Buffer.from(m[1] as string, 'base64').some((b) => b >= 0x80),
  );
}

function repairFromName(raw: Buffer, from: MailAddress): MailAddress {
  const encoded = rawHeaderValue(raw, 'from')?.toString('latin1') ?? '';
  const header = hasMislabelledJapanese(encoded) ? decodeEncodedWords(encoded) : rawEightBitHeader(raw, 'from');
  if (header === null) return from;
  const name = addressparser(header, { flatten: true }).find((a) => a.address)?.name;
  return name ? { ...from, name: name.trim() } : from;
}

// RFC 2047 encoded words, for the few headers read here rather than by mailparser.
export function decodeEncodedWords(text: string): string {
  return text
    .replace(/(=\?[^?]+\?[bq]\?[^?]*\?=)\s+(?==\?)/gi, '$1')
    .replace(
      /=\?([^?*]+)(?:\*[^?]*)?\?([bq])\?([^?]*)\?=/gi,
      (whole, charset: string, encoding: string, data: string) => {
        const bytes =
          encoding.toLowerCase() === 'b'
            ? Buffer.from(data, 'base64')
            : Buffer.from(
                data
                  .replace(/_/g, ' ')
                  .replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
                'latin1',
              );
        // ISO-2022-JP is 7-bit; 8-bit bytes under that label are Shift_JIS (decoderLabel)
        const label =
          /^iso-2022-jp/i.test(charset) && !bytes.some((b) => b >= 0x80) ? 'iso-2022-jp' : decoderLabel(charset);
        return decodeWith(bytes, label) ?? decodeWith(bytes, 'windows-1252') ?? whole;
      },
    );
}

// When the first From header has no address (garbage, or a second From added on the way), the
// first From that has one; then Reply-To and Sender, as a mail without a sender still has
// someone to answer.
function fallbackFrom(headerLines: readonly { key: string; line: string }[]): MailAddress | null {
  for (const key of ['from', 'reply-to', 'sender']) {
    for (const header of headerLines.filter((h) => h.key === key)) {
      const value = header.line.slice(header.line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ');
      // "MAILER-DAEMON (Mail Delivery System)": a bare local part, the name as a comment
      const bare = /^\s*([^\s<>()@",;]+)\s*\(([^()]*)\)\s*$/.exec(value);
      if (bare?.[1]) return { address: bare[1], name: decodeEncodedWords(bare[2] ?? '').trim() };
      const found = addressparser(value, { flatten: true }).find((a) => a.address);
      if (found) return { address: found.address.trim(), name: decodeEncodedWords(found.name ?? '').trim() };
    }
  }
  return null;
}

// Text that mailparser read byte for byte as Latin-1 although it is 8-bit text in another charset
// (a raw GBK file name, say): read again as UTF-8 or a charset the message declares, strictly.
function rereadLatin1(text: string, raw: Buffer): string {
  const codes = [...text].map((c) => c.codePointAt(0) ?? 0);
  if (!codes.some((c) => c >= 0x80) || codes.some((c) => c > 0xff)) return text;
  const bytes = Buffer.from(text, 'latin1');
  for (const charset of ['utf-8', ...declaredCharsets(raw).filter((c) => multiByte.test(c))]) {
    const decoded = decodeWith(bytes, charset);
    if (decoded !== null) return decoded;
  }
  return text;
}

// A forwarded or returned message has no file name of its own: it is named after its subject.
function attachedMessageSubject(content: Buffer): string | null {
  const bytes = rawHeaderValue(content, 'subject');
  if (!bytes) return null;
  let text: string | null = null;
  for (const charset of ['utf-8', ...declaredCharsets(content), 'windows-1252']) {
    text = decodeWith(bytes, charset);
    if (text !== null) break;
  }
  return decodeEncodedWords(text ?? bytes.toString('latin1')).trim() || null;
}

// Old mailers (Lotus Notes, Eudora) send parts with Content-Transfer-Encoding: x-uuencode,
// which mailparser hands over undecoded. Lines of "length char + 4-char groups"; begin/end optional.
export function uudecode(encoded: Buffer): Buffer {
  const out: number[] = [];
  for (const line of encoded.toString('latin1').split(/\r?\n/)) {
    if (/^(begin\s+\d{3}\s|end\s*$)/.test(line) || line === '') continue;
    const length = ((line.charCodeAt(0) ?? 32) - 32) & 63;
    if (length === 0) continue;
    const values = [...line.slice(1)].map((c) => (c.charCodeAt(0) - 32) & 63);
    const bytes: number[] = [];
    for (let i = 0; i + 3 < values.length + 3 && bytes.length < length; i += 4) {
      const [a = 0, b = 0, c = 0, d = 0] = values.slice(i, i + 4);
      bytes.push(((a << 2) | (b >> 4)) & 255, ((b << 4) | (c >> 2)) & 255, ((c << 6) | d) & 255);
    }
    out.push(...bytes.slice(0, length));
  }
  return Buffer.from(out);
}

function attachmentContent(a: MailparserAttachment): Buffer {
  const encoding = headerText(a.headers.get('content-transfer-encoding'))?.toLowerCase();
  return encoding === 'x-uuencode' || encoding === 'uuencode' ? uudecode(a.content) : a.content;
}

type MailparserAttachment = Awaited<ReturnType<typeof simpleParser>>['attachments'][number];

const describedExtension: Record<string, string> = { 'message/rfc822': 'eml', 'message/delivery-status': 'txt' };

// The part's own file name; else, for a message or report part, the attached message's subject
// or the part's Content-Description ("Delivery report").
function attachmentName(a: MailparserAttachment, raw: Buffer): string | null {
  if (a.filename) return rereadLatin1(a.filename, raw);
  const extension = describedExtension[a.contentType];
  if (!extension) return null;
  const description = headerText(a.headers.get('content-description'));
  const subject = a.contentType === 'message/rfc822' ? attachedMessageSubject(a.content) : null;
  const base = subject ?? (description ? decodeEncodedWords(description) : null);
  return base ? `${base}.${extension}` : null;
}

// Reads one raw RFC 822 message. Charsets (UTF-8, ISO-8859-x, windows-125x, ISO-2022-JP,
// GB18030 …), encoded words and RFC 2231 parameters are mailparser's work (iconv-lite).
export async function parseInbound(raw: Buffer, opts: { maxBytes?: number } = {}): Promise<ParsedInbound> {
  if (opts.maxBytes !== undefined && raw.length > opts.maxBytes)
    throw new MessageTooLargeError(raw.length, opts.maxBytes);
  if (!looksLikeMail(raw)) throw new NotAMailError();
  const mail = await withForwardedText(await parseMessage(raw), 0);
  return withoutNuls(mail.text.trim() || mail.html ? mail : { ...mail, text: rawTextPart(raw, mail) ?? mail.text });
}

// A message that is nothing but another message (Content-Type: message/rfc822, often base64,
// which mailparser keeps as an attached .eml) or a multipart holding only that: the agent reads
// the inner message's text. At top level the inner message's files replace the .eml; a
// forward-as-attachment keeps its .eml, which holds them.
async function withForwardedText(mail: ParsedInbound, depth: number): Promise<ParsedInbound> {
  if (mail.text.trim() || mail.html?.trim() || depth > 3) return mail;
  const messages = mail.attachments.filter((a) => a.contentType === 'message/rfc822');
  const [only] = messages;
  if (!only || messages.length !== 1 || mail.attachments.some((a) => a !== only && !a.inline)) return mail;
  if (!looksLikeMail(only.content)) return mail;
  const inner = await withForwardedText(await parseMessage(only.content), depth + 1);
  const whole = mail.headers.contentType === 'message/rfc822';
  return {
    ...mail,
    text: inner.text,
    html: inner.html,
    attachments: whole ? inner.attachments : mail.attachments,
  };
}

// Mail header names every message carries one of; a file without any is not a mail.
const mailHeaderNames =
  /^(from|to|cc|subject|date|message-id|received|return-path|mime-version|content-type|delivered-to|sender|reply-to):/im;

// What a mail looks like before it is parsed: a header block that holds at least one of the
// fields mail has, and whose lines are mostly header fields (or their folded continuations, or
// an mbox "From " line): a broken mail has a garbled line or two, a text that quotes a header
// has mostly prose. A PDF, a picture, an empty file or a text without headers is not a mail;
// mailparser would make an empty "(no subject)" case of it.
export function looksLikeMail(raw: Buffer): boolean {
  const head = raw
    .subarray(0, 64 * 1024)
    .toString('latin1')
    .replace(/^(?:\r?\n)+/, '');
  const end = head.search(/\r?\n\r?\n/);
  const block = end >= 0 ? head.slice(0, end) : head;
  if (!mailHeaderNames.test(block)) return false;
  const lines = block.split(/\r?\n/);
  const headerLike = lines.filter((line) => /^(?:[!-9;-~]+:|[ \t]|From )/.test(line)).length;
  return headerLike * 2 > lines.length;
}

export class NotAMailError extends Error {
  constructor() {
    super('The file is not an e-mail message: it has no mail header (From, To, Subject, Date …).');
  }
}

async function parseMessage(raw: Buffer): Promise<ParsedInbound> {
  // broken boundaries mended and file parts marked as such (mime-repair.ts); raw itself stays
  // what the headers below are read from
  const mended = repairMimeStructure(raw) ?? raw;
  const parsed = await simpleParser(mended, parserOptions);
  const partless = await readPartlessMultipart(mended, parsed);
  const mail = typeof partless === 'object' && partless !== null ? partless : parsed;
  const headers = mail.headers;
  const contentType = headers.get('content-type');
  const contentTypeValue =
    contentType && typeof contentType === 'object' && 'value' in contentType ? String(contentType.value) : null;
  const reportType =
    contentType && typeof contentType === 'object' && 'params' in contentType
      ? ((contentType.params as Record<string, string>)['report-type'] ?? null)
      : null;
  const parsedFrom = addressList(mail.from)[0] ?? fallbackFrom(mail.headerLines);
  const from = parsedFrom ? repairFromName(raw, parsedFrom) : null;
  const html = typeof mail.html === 'string' && mail.html.trim() ? mail.html : null;
  // body parts that are not the UTF-8 they were taken for (a stray Latin-1 byte, undeclared GBK)
  const body = repairLossyText(raw, {
    text: (typeof partless === 'string' ? partless : mail.text) ?? '',
    html,
  });
  return {
    messageId: messageIds(mail.messageId)[0] ?? null,
    inReplyTo: messageIds(mail.inReplyTo).at(-1) ?? null,
    references: messageIds(mail.references),
    subject:
      rawEightBitHeader(raw, 'subject') ?? rereadEncodedSubject(raw, mail.subject ?? '') ?? (mail.subject ?? '').trim(),
    from,
    to: addressList(mail.to),
    cc: addressList(mail.cc),
    replyTo: addressList(mail.replyTo)[0] ?? null,
    date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null,
    html: body.html,
    text: body.text,
    attachments: mail.attachments.map((a) => ({
      fileName: attachmentName(a, raw),
      contentType: (a.contentType || 'application/octet-stream').toLowerCase(),
      content: attachmentContent(a),
      contentId: a.cid ?? null,
      inline: a.contentDisposition === 'inline' || Boolean(a.related),
    })),
    headers: {
      autoSubmitted: lower(headerText(headers.get('auto-submitted'))),
      xAutoreply: lower(headerText(headers.get('x-autoreply'))),
      xAutorespond: lower(headerText(headers.get('x-autorespond'))),
      xAutoResponseSuppress: lower(headerText(headers.get('x-auto-response-suppress'))),
      precedence: lower(headerText(headers.get('precedence'))),
      returnPath: headerText(headers.get('return-path')),
      listId: headerText(headers.get('list-id')),
      xCasedeskCase: headerText(headers.get('x-casedesk-case')),
      xFailedRecipients: headerText(headers.get('x-failed-recipients')),
      contentType: lower(contentTypeValue),
      reportType: lower(reportType),
    },
    isReport: contentTypeValue?.toLowerCase() === 'multipart/report',
  };
}

// Every text the pipeline may store or look up, without NULs (db/text.ts): a NUL from a raw
// header or an encoded word, =00 or base64 once failed each try to store the mail. Message-IDs
// are cleaned by messageIds; the raw message and the attachments' contents stay bytes.
function withoutNuls(mail: ParsedInbound): ParsedInbound {
  const optional = (text: string | null) => (text === null ? null : withoutNul(text));
  const address = (a: MailAddress): MailAddress => ({ address: withoutNul(a.address), name: withoutNul(a.name) });
  const headers = Object.fromEntries(Object.entries(mail.headers).map(([key, value]) => [key, optional(value)]));
  return {
    ...mail,
    subject: withoutNul(mail.subject),
    from: mail.from && address(mail.from),
    to: mail.to.map(address),
    cc: mail.cc.map(address),
    replyTo: mail.replyTo && address(mail.replyTo),
    html: optional(mail.html),
    text: withoutNul(mail.text),
    attachments: mail.attachments.map((a) => ({
      ...a,
      fileName: optional(a.fileName),
      contentType: withoutNul(a.contentType),
      contentId: optional(a.contentId),
    })),
    headers: headers as FilterHeaders,
  };
}
