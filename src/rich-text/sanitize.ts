import sanitizeHtml from 'sanitize-html';

// What Trix produces, and nothing else. Stored and rendered HTML always passes through here.
const options: sanitizeHtml.IOptions = {
  allowedTags: [
    'div',
    'br',
    'p',
    'strong',
    'b',
    'em',
    'i',
    'del',
    's',
    'a',
    'ul',
    'ol',
    'li',
    'h1',
    'blockquote',
    'pre',
    'code',
    'figure',
    'figcaption',
    'img',
  ],
  // rel and target are allowed only because the transform below sets them on every link.
  allowedAttributes: { a: ['href', 'rel', 'target'], img: ['src', 'alt', 'width', 'height'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  // Images only from our own server (relative URLs): no data: URLs, no tracking pixels from elsewhere.
  allowedSchemesByTag: { img: [] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'noopener noreferrer', target: '_blank' } }),
  },
  // An image whose source was refused is nothing but an empty box.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
};

export function sanitizeRichText(html: string): string {
  return sanitizeHtml(html, options);
}

// True when sanitised HTML shows nothing: Trix sends "<div><br></div>" for an empty editor.
export function isBlankRichText(html: string): boolean {
  if (/<img\b/i.test(html)) return false;
  return (
    html
      .replace(/<[^>]*>/g, '')
      .replace(/&nbsp;|&#160;|\u00a0/g, '')
      .trim() === ''
  );
}
