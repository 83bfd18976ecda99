import { escapeHtml } from '../rich-text/escape.ts';

// @USERID mentions in discussion posts. Pure text work, no database: which logins a text names,
// what a post's HTML shows as text, and the same HTML with its mentions marked.

// A login is A–Z, digits, _ . - (see users.ts); a dot or dash only between other characters, so
// "@anna." at the end of a sentence names ANNA. The look-behind keeps e-mail addresses
// (a@kalle.se) and words glued to the @ (hej@anna) out; the look-ahead keeps "@annaå" out.
const mention = /(?<![\p{L}\p{N}_.+\-@])@([A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*)(?![\p{L}\p{N}_@])/gu;

type MentionMatch = { login: string; start: number; end: number };

function matchMentions(text: string): MentionMatch[] {
  return [...text.matchAll(mention)].map((m) => ({
    login: (m[1] as string).toUpperCase(),
    start: m.index,
    end: m.index + m[0].length,
  }));
}

// The logins a text mentions, upper-cased as logins are stored, each once, in order of appearance.
export function findMentions(text: string): string[] {
  return [...new Set(matchMentions(text).map((m) => m.login))];
}

// Tags that start a new line on screen; any other tag sits inside a line ("hej<b>@anna</b>" reads
// "hej@anna", which is no mention).
const blockTag = /^<\/?(div|p|br|li|ul|ol|h1|blockquote|pre|figure|figcaption)\b/i;
const tagOrText = /(<[^>]*>)/;

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return entities[name.toLowerCase()] ?? whole;
  });
}

// The text a reader sees in sanitised rich text: attribute values (a mailto: link's address,
// an image's alt) are not part of it.
export function textOfRichText(html: string): string {
  return html
    .split(tagOrText)
    .map((part) => (part.startsWith('<') ? (blockTag.test(part) ? '\n' : '') : decodeEntities(part)))
    .join('');
}

// Sanitised HTML with each mention of a known login wrapped in <mark class="mention">. Each piece
// of text is read with the visible character on either side of it, so what is marked is what
// findMentions(textOfRichText(html)) finds; text inside links is left as it is.
export function highlightMentions(html: string, logins: ReadonlySet<string>): string {
  if (!logins.size || !html.includes('@')) return html;
  const parts = html.split(tagOrText);
  const neighbour = (from: number, step: 1 | -1): string => {
    for (let i = from; i >= 0 && i < parts.length; i += step) {
      const part = parts[i] as string;
      if (part.startsWith('<')) {
        if (blockTag.test(part)) return '\n';
        continue;
      }
      if (part) return decodeEntities(part).at(step === 1 ? 0 : -1) as string;
    }
    return '\n';
  };
  let linkDepth = 0;
  return parts
    .map((part, i) => {
      if (part.startsWith('<')) {
        if (/^<a\b/i.test(part)) linkDepth++;
        else if (/^<\/a\b/i.test(part)) linkDepth = Math.max(0, linkDepth - 1);
        return part;
      }
      if (linkDepth > 0 || !part.includes('@')) return part;
      const text = decodeEntities(part);
      const before = neighbour(i - 1, -1);
      const framed = `${before}${text}${neighbour(i + 1, 1)}`;
      let out = '';
      let at = 0;
      for (const m of matchMentions(framed)) {
        const start = m.start - before.length;
        const end = m.end - before.length;
        if (start < 0 || end > text.length || !logins.has(m.login)) continue;
        out += `${escapeHtml(text.slice(at, start))}<mark class="mention">${escapeHtml(text.slice(start, end))}</mark>`;
        at = end;
      }
      return at === 0 ? part : out + escapeHtml(text.slice(at));
    })
    .join('');
}
