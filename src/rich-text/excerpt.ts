import { compile } from 'html-to-text';

// Rich text as one line of plain text: pasted images and their captions (file name, size) say
// nothing about the text, and links keep only their words. Compiled once: html-to-text's
// convert() builds its formatter on every call.
const oneLine = compile({
  wordwrap: false,
  selectors: [
    { selector: 'figure', format: 'skip' },
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { ignoreHref: true } },
  ],
});

// The first `maxLength` characters of the text, with "…" when it goes on.
export function excerptOf(html: string, maxLength: number): string {
  const text = oneLine(html).replace(/\s+/g, ' ').trim();
  return text.length > maxLength ? `${text.slice(0, maxLength).trimEnd()}…` : text;
}
