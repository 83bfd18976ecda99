import { Parser } from 'htmlparser2';
import { escapeHtml } from '../../rich-text/escape.ts';
import { remoteImagesToLinks, sanitizeInboundMailHtml } from '../../rich-text/sanitize.ts';

// How quoted history is introduced, in the mail programs and languages we meet.
const separatorLine =
  /^\s*[-_]{2,}\s*(original message|ursprungligt meddelande|ursprüngliche nachricht|original nachricht|oprindelig besked|opprinnelig melding|message d'origine|oorspronkelijk bericht|messaggio originale|mensaje original)\s*[-_]{2,}\s*$/i;
// "On … wrote:", and the writer's name after the verb ending the line: "Am … schrieb Kalle <k@x.de>:"
const attribution =
  /^\s*(?:[-–]\s*)?(on|den|am|le|el|il|op|em)\s[^\n]{4,250}?\s(wrote|skrev|schrieb|a écrit|escribió|ha scritto|schreef|escreveu)(?:\s*:|\s[^\n]{1,200}?:[^\S\n]*(?:\n|$))/i;
// "Kalle skrev:", "12 juni 2026 kl. 13:13 skrev Gustaf <…>:", "Ben <b@x> writes:", "At 14:56, you wrote:"
const attributionTail =
  /^[^>\n]{0,300}\b(wrote|writes|skrev|schrieb|a écrit|escribió|ha scritto|schreef|escreveu)\b[^\n]{0,200}:\s*$/i;
const headerStart = /^\s*(from|från|von|de|van|da|fra)\s*:\s/i;
const headerFollows =
  /^\s*(from|från|von|de|van|da|fra)\s*:\s[\s\S]{1,400}?\b(sent|skickat|gesendet|envoyé|date|datum|dato|enviado|verzonden|inviato|to|till|til|an|à|aan|a|para)\s*:/i;
// A line of an e-mail header block inside the text: "Ämne: …", "Sent: …", "Cc:".
const headerLine =
  /^\s*(from|från|von|fra|to|till|til|an|cc|kopia|sent|skickat|gesendet|date|datum|dato|subject|ämne|betreff|emne|reply-to)\s*:/i;
// The line Outlook draws above its header block.
const dividerLine = /^\s*(_{10,}|-{10,})\s*$/;
const isQuotedLine = (line: string) => /^\s*>/.test(line);
const isBlank = (line: string) => line.trim() === '';

// The text at the start of a block of the mail says the quoted history starts here.
export function startsQuote(text: string): boolean {
  return (
    separatorLine.test(text.split('\n', 1)[0] as string) ||
    attribution.test(text) ||
    headerFollows.test(text) ||
    // Hotmail's quote: "> From: …", "> Subject: …" lines
    /^\s*>\s*(from|subject|från|ämne)\s*:[^\n]*\n\s*>\s*(to|from|subject|date|sent|till|från|ämne|skickat|datum)\s*:/i.test(
      text,
    )
  );
}

const quotedDetails = (inner: string) => `<details class="quoted"><summary>···</summary>${inner}</details>`;

const linesToHtml = (lines: string[]) => lines.map(escapeHtml).join('<br>');

// Where an attribution ("On … wrote:", wrapped over up to three lines) ends when it starts at
// line i, or -1.
function attributionEnd(lines: string[], i: number): number {
  for (let n = 1; n <= 3 && i + n <= lines.length; n += 1) {
    const part = lines.slice(i, i + n);
    if (part.some((l, k) => isQuotedLine(l) || (k > 0 && isBlank(l)))) return -1;
    const joined = part.join(' ');
    if (attribution.test(joined) && /:\s*$/.test(joined)) return i + n - 1;
  }
  return -1;
}

// Where a header block ("-----Original Message-----", "From: … Sent: … Subject: …") that starts
// at line i ends, or -1 when none starts there.
function headerBlockEnd(lines: string[], i: number): number {
  let j = i;
  if (dividerLine.test(lines[j] as string) && headerStart.test(lines[j + 1] ?? '')) j += 1;
  const separator = separatorLine.test(lines[j] as string);
  if (!separator && !(headerStart.test(lines[j] as string) && headerFollows.test(lines.slice(j, j + 8).join('\n'))))
    return -1;
  if (separator) j += 1;
  // the header lines, some wrapped ("From: Human Resources\n<hr@example.com>")
  while (j < lines.length && !isBlank(lines[j] as string) && !isQuotedLine(lines[j] as string)) {
    if (!headerLine.test(lines[j] as string) && !(j > i && /^\s*\S[^:]{0,80}$/.test(lines[j] as string))) break;
    j += 1;
  }
  return j - 1;
}

const nextFilled = (lines: string[], from: number) => {
  let j = from;
  while (j < lines.length && isBlank(lines[j] as string)) j += 1;
  return j;
};

// The line ranges [from, to] of a plain-text mail that are quoted history: each run of "> "
// lines with the attribution or header block that introduces it, and, when a header block or
// attribution is followed by unmarked text (Outlook's way), everything from there to the end
// (openEnded). Lines between the runs, the sender's own answers, are never in a range.
function quotedLineRuns(lines: string[]): { ranges: [number, number][]; openEnded: boolean } {
  const ranges: [number, number][] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (isBlank(line)) {
      i += 1;
      continue;
    }
    let introEnd = headerBlockEnd(lines, i);
    if (introEnd < 0) introEnd = attributionEnd(lines, i);
    if (introEnd < 0 && attributionTail.test(line) && isQuotedLine(lines[nextFilled(lines, i + 1)] ?? '')) introEnd = i;
    const after = nextFilled(lines, introEnd + 1);
    if (introEnd >= 0 && !isQuotedLine(lines[after] ?? '')) {
      // introduced history that is not marked line by line: it goes on to the end
      ranges.push([i, lines.length - 1]);
      return { ranges, openEnded: true };
    }
    if (introEnd >= 0 || isQuotedLine(line)) {
      // the run of quoted lines (blank lines inside it included) after what introduces it
      let end = introEnd >= 0 ? after : i;
      let j = end;
      while (j < lines.length) {
        if (isQuotedLine(lines[j] as string)) end = j;
        else if (!isBlank(lines[j] as string)) break;
        j += 1;
      }
      ranges.push([i, end]);
      i = end + 1;
      continue;
    }
    i += 1;
  }
  return { ranges, openEnded: false };
}

// The quoted line ranges of a whole plain-text mail; nothing is folded when nothing of the
// sender's own would stay in sight.
export function quotedLineRanges(lines: string[]): [number, number][] {
  const { ranges } = quotedLineRuns(lines);
  const folded = new Set(ranges.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, k) => from + k)));
  return lines.some((l, k) => !folded.has(k) && !isBlank(l)) ? ranges : [];
}

// Plain text as HTML: escaped, line breaks kept, quoted history folded away where it stands.
export function textToHtml(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  const ranges = quotedLineRanges(lines);
  if (ranges.length === 0) return `<div>${linesToHtml(lines)}</div>`;
  let html = '';
  let at = 0;
  const shown = (from: number, to: number) => {
    let part = lines.slice(from, to);
    // the blank lines that set a folded quote apart are not needed once it is folded
    if (from > 0) while (part.length > 0 && isBlank(part[0] as string)) part = part.slice(1);
    if (part.length > 0) html += `<div>${linesToHtml(part)}</div>`;
  };
  for (const [from, to] of ranges) {
    shown(at, from);
    html += quotedDetails(`<div>${linesToHtml(lines.slice(from, to + 1))}</div>`);
    at = to + 1;
  }
  shown(at, lines.length);
  return html;
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

// The quote a mail program marks as a whole element: a blockquote (Apple Mail, Thunderbird,
// Gmail, Outlook.com), Thunderbird's attribution line, Yahoo's quote.
function isQuoteElement(token: Token): boolean {
  if (token.kind !== 'open') return false;
  if (token.tag === 'blockquote') return true;
  return token.tag === 'div' && /\bclass="[^"]*(moz-cite-prefix|yahoo_quoted)/.test(token.raw);
}

// Gmail's quote container: its attribution and blockquotes, and in an interleaved reply the
// sender's answers between them.
const isGmailQuote = (token: Token) =>
  token.kind === 'open' && token.tag === 'div' && /\bclass="[^"]*gmail_quote/.test(token.raw);

// Outlook's header block, after which everything is the quoted mail.
const marksHistoryToEnd = (token: Token) =>
  token.kind === 'open' && token.tag === 'div' && /\bid="(divRplyFwdMsg|appendonsend)"/.test(token.raw);

const blankText = (token: Token) => token.kind === 'text' && token.text.trim() === '';

const blankToken = (token: Token) =>
  (token.kind === 'text' && token.text.trim() === '') || (token.kind === 'void' && token.tag === 'br');

// Folds the quoted history of sanitised mail HTML into <details class="quoted">, where it stands:
// each quote element with the attribution before it, and from an Outlook header block (or a text
// that starts quoted history) to the end. What the sender wrote between quotes stays in sight.
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
  offsets.push(text.length);
  // each element's open and close token
  const closeOf = new Map<number, number>();
  const openOf = new Map<number, number>();
  const open: number[] = [];
  tokens.forEach((token, k) => {
    if (token.kind === 'open') open.push(k);
    else if (token.kind === 'close') {
      const at = open.map((o) => (tokens[o] as { tag: string }).tag).lastIndexOf(token.tag);
      if (at < 0) return;
      const [matched, ...unclosed] = open.splice(at) as [number, ...number[]];
      closeOf.set(matched, k);
      openOf.set(k, matched);
      // an element left open inside ends where its parent's content does
      for (const o of unclosed) closeOf.set(o, k - 1);
    }
  });
  const endOf = (k: number) => closeOf.get(k) ?? tokens.length - 1;
  const textOf = (from: number, to: number) => text.slice(offsets[from], offsets[to + 1]);

  // 1. quote elements, each with the attribution just before it ("On … wrote:" in its own block)
  const folds: [number, number][] = [];
  for (let k = 0; k < tokens.length; k += 1) {
    const token = tokens[k] as Token;
    const gmailAllQuoted =
      isGmailQuote(token) &&
      (() => {
        // the container is all quote unless the sender wrote between its blockquotes
        let depth = 0;
        let own = '';
        for (let j = k + 1; j < endOf(k); j += 1) {
          const t = tokens[j] as Token;
          if (t.kind === 'open' && t.tag === 'blockquote') depth += 1;
          else if (t.kind === 'close' && t.tag === 'blockquote') depth -= 1;
          else if (t.kind === 'text' && depth === 0) own += `${t.text}\n`;
        }
        return own.split('\n').every((l) => l.trim() === '' || attribution.test(l) || attributionTail.test(l));
      })();
    if (!isQuoteElement(token) && !gmailAllQuoted) continue;
    let from = k;
    let j = k - 1;
    while (j >= 0 && blankToken(tokens[j] as Token)) j -= 1;
    const before = tokens[j];
    if (before?.kind === 'close' && openOf.has(j)) {
      const o = openOf.get(j) as number;
      const said = textOf(o, j).trim();
      if (said.length < 400 && (attribution.test(said) || attributionTail.test(said))) from = o;
    } else if (before?.kind === 'text' && (attribution.test(before.text.trim()) || attributionTail.test(before.text))) {
      from = j;
    }
    folds.push([from, endOf(k)]);
    k = endOf(k);
  }

  // 2. quoted history written line by line in HTML ("&gt; " lines, Hotmail's "&gt; From:", an
  // "On … wrote:" over them): the lines are folded as in a plain-text mail, each quoted run where
  // it stands, so answers written between or under them stay in sight. It returns where a header
  // block or attribution over unmarked text starts history that goes on to the end, or -1; or k
  // itself when the candidate's lines cannot be folded as whole elements (then, as before, a
  // candidate that starts quoted history folds to the end).
  let linesReadTo = -1;
  const foldLines = (k: number): number => {
    // the line the candidate starts, with the elements opened just before its text
    let start = k;
    while (start > 0 && ((tokens[start - 1] as Token).kind === 'open' || blankText(tokens[start - 1] as Token)))
      start -= 1;
    const next = folds.filter(([from]) => from > k).reduce((min, [from]) => Math.min(min, from), tokens.length);
    // lines end at <br>, <hr> and block boundaries; a block's opening tag begins the next line
    const lines: { first: number; last: number; text: string }[] = [];
    let line = { first: start, last: start - 1, text: '' };
    const endLine = () => {
      if (line.last >= line.first) lines.push(line);
      line = { first: line.last + 1, last: line.last, text: '' };
    };
    for (let j = start; j < next; j += 1) {
      const t = tokens[j] as Token;
      if (t.kind === 'open' && blockTags.has(t.tag)) {
        endLine();
        line = { first: j, last: j, text: '' };
        continue;
      }
      line.last = j;
      if (t.kind === 'text') line.text += t.text;
      else if (t.kind === 'close' ? blockTags.has(t.tag) : t.tag === 'br' || t.tag === 'hr') endLine();
    }
    endLine();
    const { ranges, openEnded } = quotedLineRuns(lines.map((l) => l.text.replace(/\s+/g, ' ')));
    if (ranges[0]?.[0] !== 0) {
      linesReadTo = next;
      return k;
    }
    let historyStart = -1;
    ranges.forEach(([from, to], r) => {
      if (openEnded && r === ranges.length - 1) {
        historyStart = (lines[from] as { first: number }).first;
        return;
      }
      // a run is folded when it is whole elements: unclosed tags at its edges stay outside
      let first = (lines[from] as { first: number }).first;
      let last = (lines[to] as { last: number }).last;
      while (first <= last && (tokens[first] as Token).kind === 'open' && endOf(first) > last) first += 1;
      while (last >= first && (tokens[last] as Token).kind === 'close' && (openOf.get(last) ?? -1) < first) last -= 1;
      for (let j = first; j <= last; j += 1) {
        const t = tokens[j] as Token;
        if (t.kind === 'open' && endOf(j) > last) return;
        if (t.kind === 'close' && (openOf.get(j) ?? -1) < first) return;
      }
      if (first <= last) folds.push([first, last]);
    });
    // the candidate's own run could not be folded by itself; its lines are not read again
    if (!folds.some(([from, to]) => k >= from && k <= to)) {
      linesReadTo = next;
      return k;
    }
    // the opening tags before the candidate's text now belong to a fold, not to the page around
    const [from] = folds.find(([f, to]) => k >= f && k <= to) as [number, number];
    for (const t of tokens.slice(from, k)) if (stack.includes(t)) stack.splice(stack.lastIndexOf(t), 1);
    return historyStart;
  };

  // 3. from an Outlook header block, or a block whose text starts quoted history, to the end
  let toEnd = -1;
  let historyAt = -1;
  const stack: Token[] = [];
  let atBlockStart = true;
  for (let k = 0; k < tokens.length; k += 1) {
    const token = tokens[k] as Token;
    const inFold = folds.find(([from, to]) => k >= from && k <= to);
    if (inFold) {
      k = inFold[1];
      atBlockStart = true;
      continue;
    }
    const offset = offsets[k] as number;
    let candidate = marksHistoryToEnd(token) || k === historyAt;
    if (!candidate && atBlockStart && token.kind === 'text' && token.text.trim() !== '') {
      const ahead = text.slice(offset, offset + 600);
      if ((startsQuote(ahead) || isQuotedLine(ahead)) && k >= linesReadTo) {
        const at = foldLines(k);
        if (at === k) candidate = startsQuote(ahead);
        else historyAt = at;
        if (folds.some(([from, to]) => k >= from && k <= to)) {
          k -= 1;
          continue;
        }
      } else candidate = startsQuote(ahead);
    }
    if (candidate && text.slice(0, offset).trim() !== '' && !stack.some((t) => 'tag' in t && unsplittable.has(t.tag))) {
      toEnd = k;
      break;
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

  // Nothing folded, or nothing of the sender's own left in sight: show the mail as it came.
  const kept = folds.filter(([from]) => toEnd < 0 || from < toEnd);
  const shownText = tokens
    .map((t, k) =>
      t.kind === 'text' && !kept.some(([a, b]) => k >= a && k <= b) && (toEnd < 0 || k < toEnd) ? t.text : '',
    )
    .join('');
  if ((kept.length === 0 && toEnd < 0) || shownText.trim() === '') return html;

  let out = '';
  for (let k = 0; k < tokens.length; k += 1) {
    if (k === toEnd) {
      // Close what is open, put the rest in <details>, reopen it there: still well-formed.
      const reopen = stack.map((t) => t.raw).join('');
      const closing = [...stack]
        .reverse()
        .map((t) => `</${'tag' in t ? t.tag : ''}>`)
        .join('');
      const rest = tokens
        .slice(k)
        .map((t) => t.raw)
        .join('');
      out += `${closing}${quotedDetails(`${reopen}${rest}`)}`;
      break;
    }
    const fold = kept.find(([from]) => from === k);
    if (fold) {
      out += quotedDetails(
        tokens
          .slice(fold[0], fold[1] + 1)
          .map((t) => t.raw)
          .join(''),
      );
      k = fold[1];
      continue;
    }
    out += (tokens[k] as Token).raw;
  }
  // quotes side by side (Thunderbird's attribution, then its blockquote) fold as one
  return out.replace(/<\/details>((?:\s|<br\s*\/?>)*)<details class="quoted"><summary>···<\/summary>/g, '$1');
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
