import iconv from 'iconv-lite';

// Text parts that mailparser read as UTF-8 although their bytes are not UTF-8: a part that
// declares no charset (or US-ASCII, or UTF-8, or one no decoder knows) and then holds a stray
// Latin-1 byte, or a whole undeclared GBK body. mailparser turns each such byte into U+FFFD;
// here the part is read again from its bytes and the text put in place of the lossy reading.

// Node 20's TextDecoder reads 'windows-1252' as ISO-8859-1, which has C1 controls where
// windows-1252 has “ ” € – and the rest in 0x80–0x9F; iconv-lite has the real table. The five
// bytes windows-1252 leaves undefined stay the C1 controls of the same number, as the WHATWG
// Encoding Standard reads them, rather than iconv-lite's U+FFFD: they are no worse than before.
function windows1252Char(byte: number): string {
  const char = iconv.decode(Buffer.of(byte), 'windows-1252');
  return char === '\ufffd' ? String.fromCharCode(byte) : char;
}

function strictDecode(bytes: Uint8Array, charset: string): string | null {
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

// The length of the valid UTF-8 sequence of two to four bytes at i, or 0.
export function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i] as number;
  const cont = (k: number) => i + k < bytes.length && ((bytes[i + k] as number) & 0xc0) === 0x80;
  const second = bytes[i + 1] ?? 0;
  if (lead >= 0xc2 && lead <= 0xdf) return cont(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    // no overlong forms (E0 80–9F), no surrogates (ED A0–BF)
    if ((lead === 0xe0 && second < 0xa0) || (lead === 0xed && second > 0x9f)) return 0;
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if ((lead === 0xf0 && second < 0x90) || (lead === 0xf4 && second > 0x8f)) return 0;
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// UTF-8, with each byte that is not part of a valid sequence read as windows-1252 (the stray
// "î" of a Latin-1 editor in an otherwise UTF-8 mail). Also counts the valid multi-byte sequences.
function utf8WithFallback(bytes: Uint8Array): { text: string; multiByte: number } {
  const out: string[] = [];
  let multiByte = 0;
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i] as number;
    if (byte < 0x80) {
      i += 1;
      continue;
    }
    const length = utf8SequenceLength(bytes, i);
    if (length) {
      multiByte += 1;
      i += length;
      continue;
    }
    out.push(Buffer.from(bytes.subarray(start, i)).toString('utf8'), windows1252Char(byte));
    i += 1;
    start = i;
  }
  out.push(Buffer.from(bytes.subarray(start)).toString('utf8'));
  return { text: out.join(''), multiByte };
}

const cjk = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]/u;

// GBK (read as GB18030, its superset) when nothing in the bytes is UTF-8, they decode strictly,
// the text is Chinese, and the 8-bit bytes come in runs a Latin text does not have (two Chinese
// characters in a row are four 8-bit bytes; "Größe" in windows-1252 has a run of two). Russian in
// KOI8-R or windows-1251 decodes as GBK too ("тест" as "翦篝"), but its letters are all C0–FF,
// where GBK's bytes spread over A1–FE: a tenth of them at least below C0 is asked for.
function plausibleGbk(bytes: Uint8Array): string | null {
  let longestRun = 0;
  let run = 0;
  let high = 0;
  let belowC0 = 0;
  for (const byte of bytes) {
    run = byte >= 0x80 ? run + 1 : 0;
    longestRun = Math.max(longestRun, run);
    if (byte >= 0x80) high += 1;
    if (byte >= 0x80 && byte < 0xc0) belowC0 += 1;
  }
  if (longestRun < 4 || belowC0 < 0.1 * high) return null;
  const text = strictDecode(bytes, 'gb18030');
  if (text === null) return null;
  const nonAscii = [...text].filter((c) => (c.codePointAt(0) ?? 0) >= 0x80);
  const chinese = nonAscii.filter((c) => cjk.test(c)).length;
  return chinese >= 2 && chinese >= 0.9 * nonAscii.length ? text : null;
}

// Bytes that are not valid UTF-8, read as well as they can be: as GBK when that is plausible,
// else as UTF-8 with the invalid bytes in windows-1252. null when they are valid UTF-8.
export function decodeInvalidUtf8(bytes: Uint8Array): string | null {
  if (strictDecode(bytes, 'utf-8') !== null) return null;
  const { text, multiByte } = utf8WithFallback(bytes);
  return (multiByte === 0 ? plausibleGbk(bytes) : null) ?? text;
}

type TextPart = { bytes: Buffer; flowed: boolean };

type PartHeaders = { type: string; params: Record<string, string>; encoding: string; disposition: string };

function partHeaders(block: string): PartHeaders {
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded)?.[1]?.trim() ?? '';
  const contentType = field('content-type');
  const params: Record<string, string> = {};
  for (const m of contentType.matchAll(/;\s*([a-z0-9*_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi)) {
    params[(m[1] as string).toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return {
    type: (contentType.split(';')[0] ?? '').trim().toLowerCase() || 'text/plain',
    params,
    encoding: field('content-transfer-encoding').toLowerCase(),
    disposition: (field('content-disposition').split(';')[0] ?? '').trim().toLowerCase(),
  };
}

function decodeQuotedPrintable(text: string): Buffer {
  const bytes = text
    .replace(/[ \t]+(?=\r?\n)/g, '')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The body text parts of a message (text/plain and text/html that are not attachments, outside
// attached messages), transfer-decoded, in order. The message is read as Latin-1, byte for byte.
function textParts(entity: string, depth = 0): TextPart[] {
  // a part that starts with its blank line has no headers
  const split = /^\r?\n/.exec(entity) ?? /\r?\n\r?\n/.exec(entity);
  const head = split ? entity.slice(0, split.index) : entity;
  const body = split ? entity.slice(split.index + split[0].length) : '';
  const headers = partHeaders(head);
  if (headers.type.startsWith('multipart/')) {
    const boundary = headers.params.boundary;
    if (!boundary || depth > 20) return [];
    const delimiter = new RegExp(`(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?:\\r?\\n|$)`, 'g');
    const parts: TextPart[] = [];
    let from = -1;
    for (const m of body.matchAll(delimiter)) {
      if (from >= 0) parts.push(...textParts(body.slice(from, m.index), depth + 1));
      if (m[1]) return parts;
      from = m.index + m[0].length;
    }
    if (from >= 0) parts.push(...textParts(body.slice(from), depth + 1));
    return parts;
  }
  if ((headers.type !== 'text/plain' && headers.type !== 'text/html') || headers.disposition === 'attachment')
    return [];
  const bytes =
    headers.encoding === 'base64'
      ? Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64')
      : headers.encoding === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : Buffer.from(body, 'latin1');
  const flowed = headers.type === 'text/plain' && headers.params.format?.toLowerCase() === 'flowed';
  return [{ bytes, flowed }];
}

// mail.text and mail.html with each body part that mailparser read as lossy UTF-8 read again.
// A part only counts when its lossy reading is in mailparser's text verbatim: then mailparser
// took it for UTF-8 (a part in a charset it knows never reads as U+FFFD there).
export function repairLossyText<T extends { text: string; html: string | null }>(raw: Buffer, mail: T): T {
  const lossyText = mail.text.includes('\ufffd');
  const lossyHtml = mail.html?.includes('\ufffd') ?? false;
  if (!lossyText && !lossyHtml) return mail;
  let { text, html } = mail;
  for (const part of textParts(raw.toString('latin1'))) {
    // format=flowed is unwrapped by mailparser; the lossy text would not be found as is
    if (part.flowed) continue;
    const better = decodeInvalidUtf8(part.bytes);
    if (better === null) continue;
    const lossy = part.bytes.toString('utf8').replace(/\r?\n/g, '\n');
    const repaired = better.replace(/\r?\n/g, '\n');
    if (lossy.length < 2) continue;
    if (text.includes(lossy)) text = text.split(lossy).join(repaired);
    if (html?.includes(lossy)) html = html.split(lossy).join(repaired);
  }
  return { ...mail, text, html };
}
