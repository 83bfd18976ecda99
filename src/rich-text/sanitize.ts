import sanitizeHtml from 'sanitize-html';

// An image pasted into rich text: /uploads/images/<token> (documents/image-routes.ts), nothing
// else of ours. Any other path of the app in an <img> would be a request every reader's browser
// makes with their session, whatever the path: "/cases/1/…", "../cases", "/uploads/images/../x".
const inlineImagePath = /^\/uploads\/images\/[A-Za-z0-9_-]+$/;

function isInlineImagePath(src: string | undefined): boolean {
  return inlineImagePath.test(src ?? '');
}

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
  // Images only our own inline images: no data: URLs, no tracking pixels from elsewhere.
  allowedSchemesByTag: { img: [] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'noopener noreferrer', target: '_blank' } }),
  },
  // An image whose source was refused is nothing but an empty box.
  exclusiveFilter: (frame) => frame.tag === 'img' && !isInlineImagePath(frame.attribs.src),
};

export function sanitizeRichText(html: string): string {
  return sanitizeHtml(html, options);
}

// An e-mail we composed, shown back in our pages: the same tags, and images only as the
// mail's own inline parts (cid:), which is all the customer's mail program will show.
const mailOptions: sanitizeHtml.IOptions = {
  ...options,
  allowedSchemesByTag: { img: ['cid'] },
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src?.startsWith('cid:'),
};

export function sanitizeMailHtml(html: string): string {
  return sanitizeHtml(html, mailOptions);
}

// Mail that customers sent us. It keeps more of the sender's formatting than rich text (tables,
// headings, spans) but no style or class of theirs; the markers of quoted history (Gmail's and
// Thunderbird's classes, Apple Mail's type="cite", Outlook's divRplyFwdMsg) stay so the quote can be
// folded. Images only from our own inline-image URLs, or remote http(s) ones, which the caller
// turns into links (remoteImagesToLinks) so nothing loads until the user asks.
const inboundMailOptions: sanitizeHtml.IOptions = {
  allowedTags: [
    ...(options.allowedTags as string[]),
    'span',
    'u',
    'sub',
    'sup',
    'small',
    'hr',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'table',
    'thead',
    'tbody',
    'tfoot',
    'tr',
    'td',
    'th',
    'caption',
    'dl',
    'dt',
    'dd',
    'cite',
    'q',
    'tt',
    'abbr',
    'address',
  ],
  allowedAttributes: {
    a: ['href', 'rel', 'target', 'title'],
    img: ['src', 'alt', 'width', 'height', 'title'],
    td: ['colspan', 'rowspan'],
    th: ['colspan', 'rowspan'],
    blockquote: [{ name: 'type', multiple: false, values: ['cite'] }],
    div: [{ name: 'id', multiple: false, values: ['divRplyFwdMsg', 'appendonsend'] }],
  },
  allowedClasses: {
    div: ['gmail_quote', 'gmail_quote_container', 'moz-cite-prefix', 'yahoo_quoted'],
    blockquote: ['gmail_quote'],
  },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'xml'],
  transformTags: {
    // Relative links would point into Casedesk itself; a customer's mail has no business there.
    a: (tagName, attribs) => {
      const { href, ...rest } = attribs;
      const absolute = href && /^(https?:|mailto:|tel:)/i.test(href.trim());
      return {
        tagName,
        attribs: { ...rest, ...(absolute ? { href } : {}), rel: 'noopener noreferrer', target: '_blank' },
      };
    },
  },
  exclusiveFilter: (frame) =>
    // hidden "preheader" texts of newsletters: no mail program shows them either
    /display\s*:\s*none/i.test(frame.attribs.style ?? '') ||
    (frame.tag === 'img' && !isInlineImagePath(frame.attribs.src) && !/^https?:\/\//i.test(frame.attribs.src ?? '')),
};

export function sanitizeInboundMailHtml(html: string): string {
  return sanitizeHtml(html, inboundMailOptions);
}

// Remote images in sanitised mail HTML become links that name their source in data-remote-src;
// public/mail-images.js swaps them back in when the user asks. 1×1 and 2×2 images are tracking
// pixels and go altogether. Attribute values are already escaped by the sanitiser.
export function remoteImagesToLinks(sanitized: string): { html: string; remoteImages: number } {
  let remoteImages = 0;
  const html = sanitized.replace(/<img\b([^>]*)\/?>/g, (whole, attrs: string) => {
    const src = /\bsrc="(https?:\/\/[^"]*)"/i.exec(attrs)?.[1];
    if (!src) return whole;
    const size = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)`).exec(attrs)?.[1] ?? '0');
    if ((size('width') > 0 && size('width') <= 2) || (size('height') > 0 && size('height') <= 2)) return '';
    remoteImages += 1;
    const alt = /\balt="([^"]*)"/.exec(attrs)?.[1]?.trim();
    const host = /^https?:\/\/([^/:?#]+)/i.exec(src)?.[1] ?? '';
    const label = alt || host;
    return `<a class="remote-image" href="${src}" data-remote-src="${src}" target="_blank" rel="noopener noreferrer">[${label}]</a>`;
  });
  return { html, remoteImages };
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
