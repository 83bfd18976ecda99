import { Parser } from 'htmlparser2';
import { escapeHtml } from '../../rich-text/escape.ts';
import { remoteImagesToLinks, sanitizeInboundMailHtml } from '../../rich-text/sanitize.ts';

// How the quoted history below a reply begins, in the mail programs and languages we meet.
const separatorLine =
  /^\s*-{2,}\s*(original message|ursprungligt meddelande|ursprüngliche nachricht|message d'origine|oorspronkelijk bericht|messaggio originale|mensaje original)\s*-{2,}/i;
const attribution =
  /^\s*(on|den|am|le|el|il|op|em)\s[^\n]{4,250}?\s(wrote|skrev|schrieb|a écrit|escribió|ha scritto|schreef|escreveu)\s*:/i;
const headerStart = /^\s*(from|från|von|de|van|da)\s*:\s/i;
const headerFollows =
  /^\s*(from|från|von|de|van|da)\s*:\s[\s\S]{1,400}?\b(sent|skickat|gesendet|envoyé|date|datum|enviado|verzonden|inviato|to|till|an|à|aan|a|para)\s*:/i;

// The text at the start of a block of the mail says the quoted history starts here.
export function startsQuote(text: string): boolean {
  return separatorLine.test(text) || attribution.test(text) || headerFollows.test(text);
}

const quotedDetails = (inner: string) => `<details class="quoted"><summary>···</summary>${inner}</details>`;

const linesToHtml = (lines: string[]) => lines.map(escapeHtml).join('<br>');

// The line where quoted history begins in a plain-text mail, or -1: a separator or header block
// ("-----Original Message-----", "Från: … Skickat: …"), an attribution ("On … wrote:", "Den …
// skrev:"), or a run of "> " lines that goes on to the end of the mail.
export function quoteStartLine(lines: string[]): number {
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (separatorLine.test(line)) return i;
    if (headerStart.test(line) && startsQuote(lines.slice(i, i + 8).join('\n'))) return i;
    if (attribution.test(`${line} ${lines[i + 1] ?? ''}`) && !/^\s*>/.test(line)) {
      // an attribution line counts when quoted lines follow it
      const next = lines.slice(i + 1, i + 4).find((l) => l.trim() !== '');
      if (next !== undefined && (/^\s*>/.test(next) || attribution.test(line))) return i;
    }
    if (/^\s*>/.test(line)) {
      const rest = lines.slice(i).filter((l) => l.trim() !== '');
      if (rest.every((l) => /^\s*>/.test(l))) {
        let before = i - 1;
        while (before >= 0 && (lines[before] as string).trim() === '') before -= 1;
        return before >= 0 && /:\s*$/.test(lines[before] as string) ? before : i;
      }
      return -1;
    }
  }
  return -1;
}

// Plain text as HTML: escaped, line breaks kept, quoted history folded away.
export function textToHtml(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  const start = quoteStartLine(lines);
  const fresh = start > 0 ? lines.slice(0, start) : lines;
  if (start <= 0 || fresh.every((l) => l.trim() === '')) return `<div>${linesToHtml(lines)}</div>`;
  return `<div>${linesToHtml(fresh)}</div>${quotedDetails(`<div>${linesToHtml(lines.slice(start))}</div>`)}`;
}

type Token =
  | { kind: 'open' | 'close' | 'void'; tag: string; raw: string }
  | { kind: 'text'; raw: string; text: string };

const voidTags = new Set(['br', 'img', 'hr', 'col', 'wbr']);
const blockTags = new Set([
  'div',
  'p',
  'blockquote',
  'pre',
  'table',
  'tr',
  'td',
  'th',
  'li',
  'ul',
  'ol',
  'hr',
  'br',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'dl',
  'dt',
  'dd',
  'figure',
  'address',
]);
// A split inside these would reopen a table row or list item outside its table or list.
const unsplittable = new Set([
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'td',
  'th',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
]);

// Sanitised HTML as its tags and the text between them, each token with its exact source, so
// joining the tokens gives the HTML back. A tag htmlparser2 only implies (the <p> it opens for a
// stray </p>) has no source of its own: its raw is empty.
function tokenize(html: string): Token[] {
  const tokens: Token[] = [];
  // where the source not yet in a token starts, and the decoded text read since
  let at = 0;
  let text = '';
  const take = (start: number, end: number): string => {
    if (start > at) tokens.push({ kind: 'text', raw: html.slice(at, start), text });
    text = '';
    const raw = start >= at ? html.slice(start, end + 1) : '';
    at = Math.max(at, end + 1);
    return raw;
  };
  const parser: Parser = new Parser({
    onopentag(tag) {
      const raw = take(parser.startIndex, parser.endIndex);
      tokens.push({ kind: voidTags.has(tag) ? 'void' : 'open', tag, raw });
    },
    onclosetag(tag, isImplied) {
      if (isImplied) return;
      tokens.push({ kind: 'close', tag, raw: take(parser.startIndex, parser.endIndex) });
    },
    ontext(data) {
      text += data;
    },
  });
  parser.end(html);
  if (at < html.length) tokens.push({ kind: 'text', raw: html.slice(at), text });
  return tokens;
}

// Markers the mail programs put on their quotes themselves.
function marksQuote(token: Token): boolean {
  if (token.kind !== 'open') return false;
  if (token.tag === 'blockquote' && /\btype="cite"|\bclass="[^"]*gmail_quote/.test(token.raw)) return true;
  return (
    token.tag === 'div' &&
    /\bclass="[^"]*(gmail_quote|moz-cite-prefix|yahoo_quoted)|\bid="(divRplyFwdMsg|appendonsend)"/.test(token.raw)
  );
}

// Folds the quoted history of sanitised mail HTML into <details class="quoted">: from the first
// quote marker or quote-like block start that has new text before it to the end.
export function foldQuotedHtml(html: string): string {
  const tokens = tokenize(html);
  // the plain text before each token, to know what is before and after a candidate
  const offsets: number[] = [];
  let text = '';
  for (const token of tokens) {
    offsets.push(text.length);
    if (token.kind === 'text') text += token.text;
    else if (blockTags.has(token.tag)) text += '\n';
  }
  const stack: Token[] = [];
  let atBlockStart = true;
  for (let k = 0; k < tokens.length; k += 1) {
    const token = tokens[k] as Token;
    const offset = offsets[k] as number;
    const candidate =
      marksQuote(token) || (atBlockStart && token.kind === 'text' && startsQuote(text.slice(offset, offset + 600)));
    if (candidate && text.slice(0, offset).trim() !== '' && !stack.some((t) => 'tag' in t && unsplittable.has(t.tag))) {
      // Close what is open, put the rest in <details>, reopen it there: still well-formed.
      const open = stack.map((t) => t.raw);
      const closing = [...stack].reverse().map((t) => `</${'tag' in t ? t.tag : ''}>`);
      const before = tokens
        .slice(0, k)
        .map((t) => t.raw)
        .join('');
      const after = tokens
        .slice(k)
        .map((t) => t.raw)
        .join('');
      return `${before}${closing.join('')}${quotedDetails(`${open.join('')}${after}`)}`;
    }
    if (token.kind === 'open') stack.push(token);
    else if (token.kind === 'close') {
      const at = stack.map((t) => ('tag' in t ? t.tag : '')).lastIndexOf(token.tag);
      if (at >= 0) stack.splice(at);
    }
    if (token.kind === 'text') {
      if (token.text.trim() !== '') atBlockStart = false;
    } else if (blockTags.has(token.tag)) atBlockStart = true;
  }
  return html;
}

export type MailBody = { html: string; remoteImages: number };

// The body of an inbound mail as it is stored in the thread: sanitised HTML (or the text as
// HTML), cid: images already pointing at /uploads/images, remote images as links, quote folded.
export function mailBodyHtml(input: { html: string | null; text: string }): MailBody {
  if (!input.html) return { html: textToHtml(input.text), remoteImages: 0 };
  const { html, remoteImages } = remoteImagesToLinks(sanitizeInboundMailHtml(input.html));
  return { html: foldQuotedHtml(html), remoteImages };
}

// cid: names an inline part by its Content-ID; mail programs sometimes URL-encode it.
export function normalizeCid(cid: string): string {
  let value = cid.trim().replace(/^<|>$/g, '');
  try {
    value = decodeURIComponent(value);
  } catch {
    // not URL-encoded after all
  }
  return value.toLowerCase();
}

const cidValue = /^\s*cid:/i;

// The parts an HTML mail shows by cid: (an img's src, a table's background), as normalizeCid gives them.
export function referencedCids(html: string): Set<string> {
  const cids = new Set<string>();
  const parser = new Parser({
    onattribute(_name, value) {
      if (cidValue.test(value)) cids.add(normalizeCid(value.replace(cidValue, '')));
    },
  });
  parser.end(html);
  return cids;
}

// Each src="cid:…" whose part was stored becomes that part's address; the rest of the HTML is
// left exactly as it came, for the sanitiser to read.
export function rewriteCidLinks(html: string, urls: ReadonlyMap<string, string>): string {
  const edits: { start: number; end: number; url: string }[] = [];
  const parser: Parser = new Parser({
    onattribute(name, value) {
      if (name !== 'src' || !cidValue.test(value)) return;
      const url = urls.get(normalizeCid(value.replace(cidValue, '')));
      if (url) edits.push({ start: parser.startIndex, end: parser.endIndex, url });
    },
  });
  parser.end(html);
  let out = '';
  let at = 0;
  for (const edit of edits) {
    out += `${html.slice(at, edit.start)}src="${edit.url}"`;
    at = edit.end;
  }
  return out + html.slice(at);
}
