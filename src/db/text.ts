// PostgreSQL's text cannot hold U+0000: a NUL in a value or in a query parameter fails the whole
// statement ("invalid byte sequence for encoding UTF8: 0x00"). Text that comes from outside (a
// mail's subject, body, addresses, file names) loses its NULs before it is stored or looked up;
// bytes that must stay exact are kept as bytea.
export function withoutNul(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '') : text;
}
