// Where a redirect may send the browser: a path on this site, and nothing else. Every Location
// and HX-Redirect the app sends goes through safeRedirectTarget (render.ts, the login and
// language forms, notifications), and the last onSend hook (response-guard.ts) refuses any
// other.

// Longer than any address the app makes; a longer one is somebody's experiment.
const maxLength = 2048;

// Browsers drop tabs and line breaks from a URL, so "/\t/evil.example" becomes "//evil.example",
// and they read "/\" as "//": both would leave the site. Node refuses such a header outright.
const controlCharacter = /[\p{Cc}\u2028\u2029]/u;

// Characters outside printable ASCII are sent percent-encoded as UTF-8: Node refuses a header
// with characters past U+00FF, and sends U+0080–U+00FF as single bytes no browser reads as UTF-8.
const needsEncoding = /[^\x21-\x7e]/gu;
const percentEncode = (character: string) =>
  [...Buffer.from(character, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');

// The target when it is a path on this site ("/cases?q=x"), else the fallback.
export function safeRedirectTarget(target: unknown, fallback = '/'): string {
  if (typeof target !== 'string' || !isSameSitePath(target)) return fallback;
  return target.replace(needsEncoding, percentEncode);
}

export function isSameSitePath(target: string): boolean {
  return (
    target.length <= maxLength &&
    target.startsWith('/') &&
    !target.startsWith('//') &&
    !target.startsWith('/\\') &&
    !controlCharacter.test(target)
  );
}
