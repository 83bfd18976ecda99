import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isBlankRichText, sanitizeInboundMailHtml, sanitizeMailHtml, sanitizeRichText } from './sanitize.ts';

const test = suite('Rich text sanitising');

test('what Trix produces survives unchanged', () => {
  const html =
    '<div>Hej <strong>där</strong>, <em>läs</em> <del>inte</del> detta:<br></div>' +
    '<h1>Rubrik</h1><blockquote>Citat</blockquote><pre>kod</pre>' +
    '<ul><li>ett</li></ul><ol><li>två</li></ol>';
  // Only the void element is written in XHTML style.
  assert.is(sanitizeRichText(html), html.replace('<br>', '<br />'));
});

test('links keep http, https, mailto and relative targets and open safely in a new tab', () => {
  for (const href of ['https://example.com/a?b=1', 'http://example.com', 'mailto:kalle@example.com', '/cases/12']) {
    assert.is(
      sanitizeRichText(`<a href="${href}">x</a>`),
      `<a href="${href.replace('&', '&amp;')}" rel="noopener noreferrer" target="_blank">x</a>`,
    );
  }
  assert.is(
    sanitizeRichText('<a href="https://example.com" target="_self" rel="opener">x</a>'),
    '<a href="https://example.com" target="_blank" rel="noopener noreferrer">x</a>',
  );
});

test('script and style elements go, with their content', () => {
  assert.is(sanitizeRichText('<div>a<script>alert(1)</script>b</div>'), '<div>ab</div>');
  assert.is(sanitizeRichText('<SCRIPT SRC=//evil.example/x.js></SCRIPT>ok'), 'ok');
  assert.is(sanitizeRichText('<style>body{display:none}</style>ok'), 'ok');
  assert.is(sanitizeRichText('<div style="background:url(javascript:alert(1))">x</div>'), '<div>x</div>');
});

test('event handler attributes are removed', () => {
  assert.is(sanitizeRichText('<img src="/uploads/images/x" onerror="alert(1)">'), '<img src="/uploads/images/x" />');
  assert.is(sanitizeRichText('<div onclick="alert(1)" onmouseover=alert(1)>x</div>'), '<div>x</div>');
  assert.not.match(sanitizeRichText('<b/onmouseover=alert(1)>x</b>'), /onmouseover/i);
});

test('javascript:, data: and vbscript: URLs are refused, however they are disguised', () => {
  for (const href of [
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'javascript&#58;alert(1)',
    '&#106;avascript:alert(1)',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'vbscript:msgbox(1)',
  ]) {
    const out = sanitizeRichText(`<a href="${href}">x</a>`);
    assert.not.match(out, /href/, href);
    assert.match(out, '>x</a>');
  }
});

test('a pasted image as Trix stores it keeps its link and caption (the e-mail drops them, compose.ts)', () => {
  assert.is(
    sanitizeRichText(
      '<figure data-trix-attachment="{}" class="attachment attachment--preview"><a href="/uploads/images/Ab12">' +
        '<img src="/uploads/images/Ab12" width="1" height="1"></a><figcaption class="attachment__caption">' +
        '<span class="attachment__name">pixel.png</span> <span class="attachment__size">70 Bytes</span></figcaption></figure>',
    ),
    '<figure><a href="/uploads/images/Ab12" rel="noopener noreferrer" target="_blank">' +
      '<img src="/uploads/images/Ab12" width="1" height="1" /></a><figcaption>pixel.png 70 Bytes</figcaption></figure>',
  );
});

test('images only as our inline images; data:, remote and protocol-relative images are dropped', () => {
  assert.is(
    sanitizeRichText(
      '<figure><img src="/uploads/images/Ab12_-x" alt="a" width="10" height="20"><figcaption>c</figcaption></figure>',
    ),
    '<figure><img src="/uploads/images/Ab12_-x" alt="a" width="10" height="20" /><figcaption>c</figcaption></figure>',
  );
  assert.is(sanitizeRichText('<img src="data:image/png;base64,iVBORw0KGgo=">'), '');
  assert.is(sanitizeRichText('<img src="data:image/svg+xml,<svg onload=alert(1)>">'), '');
  assert.is(sanitizeRichText('<img src="https://tracker.example/p.gif">'), '');
  assert.is(sanitizeRichText('<img src="//tracker.example/p.gif">'), '');
  assert.is(sanitizeRichText('<img src="javascript:alert(1)">'), '');
});

// An <img> makes every reader's browser send a GET with their session to whatever path it names.
const ownRoutes = [
  '/cases/1/thread/2/mail',
  '/cases/1/thread/2/mail?to=x%40evil.example',
  '../cases/1/thread/2/mail',
  'cases/1',
  './uploads/images/Ab12',
  '/attachments/1.png',
  '//evil.example/p.gif',
  '/\\evil.example/p.gif',
  '\\\\evil.example/p.gif',
  '/images/../cases/1',
  '/uploads/images/../../cases/1/thread/2/mail',
  '/uploads/images/Ab12/../../../cases/1',
  '/uploads/images/Ab12?x=1',
  '/uploads/images/Ab12#x',
  '/uploads/images/%2e%2e%2fcases',
  '/uploads/images/',
  '/UPLOADS/IMAGES/Ab12',
  ' /cases/1',
  '&#47;cases/1',
  '&#x2F;uploads&#x2F;images&#x2F;..&#x2F;cases',
  '/uploads/images/Ab12&#10;',
  'cid:part1@example',
  '/notifications/1/read',
  '/logout',
];

test('an <img> naming any other path of the app is dropped from editor HTML and from inbound mail', () => {
  for (const src of ownRoutes) {
    const html = `<div>x<img src="${src}" alt="a"></div>`;
    assert.is(sanitizeRichText(html), '<div>x</div>', `editor: ${src}`);
    assert.is(sanitizeInboundMailHtml(html), '<div>x</div>', `inbound mail: ${src}`);
    if (!src.startsWith('cid:')) assert.is(sanitizeMailHtml(html), '<div>x</div>', `our composed mail: ${src}`);
  }
  // What stays: our inline images, a remote image in inbound mail (turned into a link later),
  // the mail's own parts (cid:) in a composed mail shown back.
  assert.is(sanitizeRichText('<img src="/uploads/images/Ab12">'), '<img src="/uploads/images/Ab12" />');
  assert.is(sanitizeInboundMailHtml('<img src="/uploads/images/Ab12">'), '<img src="/uploads/images/Ab12" />');
  assert.is(sanitizeInboundMailHtml('<img src="https://acme.se/logo.png">'), '<img src="https://acme.se/logo.png" />');
  assert.is(sanitizeMailHtml('<img src="cid:part1@example">'), '<img src="cid:part1@example" />');
});

test('iframes, svg, objects, forms and meta refreshes are removed', () => {
  const vectors = [
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<svg onload="alert(1)"><script>alert(1)</script></svg>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="https://evil.example"><input name="password"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  ];
  for (const html of vectors) {
    const out = sanitizeRichText(html);
    assert.not.match(out, /<(script|style|iframe|svg|object|embed|form|input|meta|math)\b/i, html);
    assert.not.match(out, /\son\w+=|javascript:/i, html);
  }
});

test('text that looks like markup is escaped, not interpreted', () => {
  assert.is(sanitizeRichText('1 < 2 & 3 > 2'), '1 &lt; 2 &amp; 3 &gt; 2');
});

test('an editor with only empty lines counts as blank, an image alone does not', () => {
  assert.ok(isBlankRichText(''));
  assert.ok(isBlankRichText('<div><br /></div>'));
  assert.ok(isBlankRichText('<div>&nbsp; </div>'));
  assert.not.ok(isBlankRichText('<div>Hej</div>'));
  assert.not.ok(isBlankRichText('<img src="/a.png" />'));
});

test.run();
