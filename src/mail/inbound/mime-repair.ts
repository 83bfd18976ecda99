// A lenient second reading of a message's MIME structure, before mailparser reads it. Mailers,
// web forms and gateways send multiparts whose boundaries mailparser cannot follow, and then
// the customer's words vanish from the case. This finds the boundary the parts really use and
// writes the message again with only the broken lines changed:
// - a delimiter line with text after it ("--b1 junk", "--b1 Content-Type: text/plain");
// - a declared boundary with trailing spaces, or one that differs from the one used;
// - a multipart with no boundary parameter at all.
// It also says which parts are files rather than body text, as Content-Disposition: attachment:
// a text part with a file name (Content-Type name= or a Disposition filename), and an HTML part
// that follows the text body in a multipart/mixed (an attached page, never the body).
// Everything else stays byte for byte as it came; a well-formed message comes back unchanged.

type Edit = { start: number; end: number; text: string };

type Entity = {
  // offsets into the message (read as latin1, one character per byte)
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
};

type Line = { start: number; end: number; next: number; text: string };

// Content-type subtypes whose parts are alternatives of one body, or belong to it, or are a
// report: their text parts are the body whatever they are named.
const bodySubtypes = new Set(['alternative', 'related', 'report', 'signed', 'encrypted']);

const headerLine = /^[!-9;-~]+:/;

function lineAt(s: string, at: number, end: number): Line {
  const newline = s.indexOf('\n', at);
  const next = newline < 0 || newline >= end ? end : newline + 1;
  const lineEnd = newline < 0 || newline >= end ? end : newline > at && s[newline - 1] === '\r' ? newline - 1 : newline;
  return { start: at, end: lineEnd, next, text: s.slice(at, lineEnd) };
}

// The lines of a body that start with "--", the only ones that can delimit its parts; found by
// indexOf, so a multipart nested deep around a large attachment costs little per level.
function dashLines(s: string, start: number, end: number): Line[] {
  const lines: Line[] = [];
  let at = start;
  while (at < end) {
    if (!s.startsWith('--', at)) {
      const found = s.indexOf('\n--', at);
      if (found < 0 || found + 1 >= end) break;
      at = found + 1;
    }
    const line = lineAt(s, at, end);
    lines.push(line);
    if (line.next <= at) break;
    at = line.next;
  }
  return lines;
}

function linesOf(s: string, start: number, end: number): Line[] {
  const lines: Line[] = [];
  let at = start;
  while (at < end) {
    const newline = s.indexOf('\n', at);
    const next = newline < 0 || newline >= end ? end : newline + 1;
    const lineEnd =
      newline < 0 || newline >= end ? end : newline > at && s[newline - 1] === '\r' ? newline - 1 : newline;
    lines.push({ start: at, end: lineEnd, next, text: s.slice(at, lineEnd) });
    at = next;
  }
  return lines;
}

// The header fields of an entity, each with where it sits (folded lines included).
function headerFields(s: string, entity: Entity): { name: string; value: string; start: number; end: number }[] {
  const fields: { name: string; value: string; start: number; end: number }[] = [];
  for (const line of linesOf(s, entity.headerStart, entity.headerEnd)) {
    const last = fields.at(-1);
    if (/^[ \t]/.test(line.text) && last) {
      last.value += ` ${line.text.trim()}`;
      last.end = line.end;
      continue;
    }
    const colon = line.text.indexOf(':');
    if (colon <= 0) continue;
    fields.push({
      name: line.text.slice(0, colon).trim().toLowerCase(),
      value: line.text.slice(colon + 1).trim(),
      start: line.start,
      end: line.end,
    });
  }
  return fields;
}

function param(value: string, name: string): string | null {
  const match = new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`, 'i').exec(value);
  return match ? (match[1] ?? match[2] ?? '') : null;
}

// A file name given at all: plain, or in RFC 2231 pieces (name*0*=…); a blank one (KMail writes
// name=" " on its body parts) names nothing.
const hasName = (value: string, name: string) =>
  [...value.matchAll(new RegExp(`(?:^|;)\\s*${name}(?:\\*\\d*)*\\*?\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`, 'gi'))].some(
    (m) => (m[1] ?? m[2] ?? '').trim() !== '',
  );

// The header block of a part that starts at `start`: up to its first empty line.
function entityAt(s: string, start: number, end: number): Entity {
  if (/^\r?\n/.test(s.slice(start, start + 2))) {
    const bodyStart = s[start] === '\r' ? start + 2 : start + 1;
    return { headerStart: start, headerEnd: start, bodyStart, bodyEnd: end };
  }
  const blank = /\r?\n\r?\n/g;
  blank.lastIndex = start;
  const found = blank.exec(s);
  if (!found || found.index >= end) return { headerStart: start, headerEnd: end, bodyStart: end, bodyEnd: end };
  return {
    headerStart: start,
    headerEnd: found.index,
    bodyStart: Math.min(end, found.index + found[0].length),
    bodyEnd: end,
  };
}

// Whether a line opens or closes a part of boundary B: exactly, with trailing whitespace, or
// with text after it. Text right after the boundary counts only when it is set off by a space
// or the boundary is long enough never to begin an ordinary line (and the line is not the
// delimiter of a longer boundary that starts the same way).
function delimiterKind(text: string, boundary: string, others: readonly string[]): 'open' | 'close' | null {
  if (!text.startsWith(`--${boundary}`)) return null;
  if (
    others.some(
      (other) => other.length > boundary.length && other.startsWith(boundary) && text.startsWith(`--${other}`),
    )
  )
    return null;
  const rest = text.slice(boundary.length + 2);
  const closing = rest.startsWith('--');
  const after = closing ? rest.slice(2) : rest;
  if (/^[\s\xa0\xc2]/.test(after) || after === '' || boundary.length >= 8) return closing ? 'close' : 'open';
  return null;
}

export function repairMimeStructure(raw: Buffer): Buffer | null {
  let mended: string | null = null;
  // again on its own result, as a header mended at one level shows the parts of the next (a
  // nested multipart's Content-Type run onto its delimiter line); a few passes settle any mail
  for (let pass = 0; pass < 4; pass += 1) {
    const again = repairOnce(mended ?? raw.toString('latin1'));
    if (again === null) break;
    mended = again;
  }
  return mended === null ? null : Buffer.from(mended, 'latin1');
}

function repairOnce(s: string): string | null {
  const end = /\r?\n\r?\n/.exec(s);
  if (!end) return null;
  const root: Entity = {
    headerStart: 0,
    headerEnd: end.index,
    bodyStart: end.index + end[0].length,
    bodyEnd: s.length,
  };
  // every boundary declared anywhere (a few hundred at most: a longer list is no mail's)
  const declared = [
    ...new Set([...s.matchAll(/boundary\s*=\s*(?:"([^"]*)"|([^;\s"]+))/gi)].map((m) => (m[1] ?? m[2] ?? '').trim())),
  ].slice(0, 300);
  const edits: Edit[] = [];
  readEntity(s, root, { parentSubtype: null, textBodySeen: false, depth: 0, declared, edits });
  if (!edits.length) return null;
  let out = s;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  }
  return out;
}

type Walk = {
  parentSubtype: string | null;
  // a text/plain body part came before this one among its siblings
  textBodySeen: boolean;
  depth: number;
  declared: readonly string[];
  edits: Edit[];
};

// Reads one entity and returns what it is, for its siblings: 'text' when it is body text.
function readEntity(s: string, entity: Entity, walk: Walk): 'text' | 'other' {
  const fields = headerFields(s, entity);
  const contentType = fields.find((f) => f.name === 'content-type');
  const type = (contentType?.value.split(';')[0] ?? '').trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    if (walk.depth < 40 && contentType) readMultipart(s, entity, contentType, type.slice(10), walk);
    return type === 'multipart/alternative' ? 'text' : 'other';
  }
  if (walk.parentSubtype === null || bodySubtypes.has(walk.parentSubtype)) return 'other';
  const disposition = fields.find((f) => f.name === 'content-disposition');
  const dispositionType = (disposition?.value.split(';')[0] ?? '').trim().toLowerCase();
  if (dispositionType === 'attachment') return 'other';
  const isText = type === '' || type.startsWith('text/');
  const named =
    (contentType !== undefined && hasName(contentType.value, 'name')) ||
    (disposition !== undefined && hasName(disposition.value, 'filename'));
  const attachedPage = type === 'text/html' && walk.textBodySeen;
  if (isText && (named || attachedPage)) {
    markAttachment(s, entity, disposition, walk.edits);
    return 'other';
  }
  // a text part of only blank lines (some mailers send one before the HTML that is the body)
  // is no body that an HTML part could be mistaken for
  const blank = s.slice(entity.bodyStart, entity.bodyEnd).trim() === '';
  return (type === '' || type === 'text/plain') && !blank ? 'text' : 'other';
}

function markAttachment(
  s: string,
  entity: Entity,
  disposition: { value: string; start: number; end: number } | undefined,
  edits: Edit[],
): void {
  if (!disposition) {
    const lineEnd = /\r\n/.test(s.slice(entity.headerStart, entity.bodyStart)) ? '\r\n' : '\n';
    edits.push({
      start: entity.headerStart,
      end: entity.headerStart,
      text: `Content-Disposition: attachment${lineEnd}`,
    });
    return;
  }
  const line = s.slice(disposition.start, disposition.end);
  const colon = line.indexOf(':');
  const token = /^(\s*)([^;\s]*)/.exec(line.slice(colon + 1)) as RegExpExecArray;
  const at = disposition.start + colon + 1 + (token[1] ?? '').length;
  edits.push({ start: at, end: at + (token[2] ?? '').length, text: 'attachment' });
}

function readMultipart(
  s: string,
  entity: Entity,
  contentType: { value: string; start: number; end: number },
  subtype: string,
  walk: Walk,
): void {
  const lines = dashLines(s, entity.bodyStart, entity.bodyEnd);
  const rawDeclared = param(contentType.value, 'boundary');
  const declared = rawDeclared?.trim() || null;
  const others = walk.declared;
  let boundary: string | null = null;
  if (declared && lines.some((l) => delimiterKind(l.text, declared, others))) boundary = declared;
  else {
    // the boundary the first part really uses: a "--token" line followed by a part header
    for (const line of lines) {
      const token = /^--([^\s"]{1,70})/.exec(line.text)?.[1];
      const next = line.next < entity.bodyEnd ? lineAt(s, line.next, entity.bodyEnd).text : '';
      if (token && headerLine.test(next) && !token.endsWith('--')) {
        boundary = token;
        break;
      }
    }
  }
  if (!boundary) return;

  if (boundary !== rawDeclared) {
    const others = contentType.value.replace(/;?\s*boundary\s*=\s*(?:"[^"]*"|[^;\s]*)/i, '').replace(/[;\s]+$/, '');
    walk.edits.push({
      start: contentType.start,
      end: contentType.end,
      text: `Content-Type: ${others.trim()}; boundary="${boundary}"`,
    });
  }

  const delimiters: { line: Line; kind: 'open' | 'close' }[] = [];
  for (const line of lines) {
    const kind = delimiterKind(line.text, boundary, others);
    if (!kind) continue;
    delimiters.push({ line, kind });
    const canonical = `--${boundary}${kind === 'close' ? '--' : ''}`;
    // trailing SP and HTAB mailparser reads; any other space (a no-break space from a web form,
    // raw or as UTF-8) it does not
    if (/^[ \t]*$/.test(line.text.slice(canonical.length))) continue;
    const after = line.text
      .slice(canonical.length)
      .replace(/^[\s\xa0\xc2]+/, '')
      .trim();
    const lineEnd = s.slice(line.end, line.next);
    // a part header run onto the delimiter line goes back on a line of its own
    const moved = headerLine.test(after) ? `${lineEnd || '\r\n'}${after}` : '';
    walk.edits.push({ start: line.start, end: line.end, text: `${canonical}${moved}` });
    if (kind === 'close') break;
  }

  let textBodySeen = false;
  for (const [i, delimiter] of delimiters.entries()) {
    if (delimiter.kind === 'close') break;
    const partEnd = delimiters[i + 1]?.line.start ?? entity.bodyEnd;
    // the line break before the next delimiter belongs to it
    const trimmedEnd = s.slice(delimiter.line.next, partEnd).replace(/\r?\n$/, '').length + delimiter.line.next;
    const part = entityAt(s, delimiter.line.next, trimmedEnd);
    const kind = readEntity(s, part, { ...walk, parentSubtype: subtype, textBodySeen, depth: walk.depth + 1 });
    if (kind === 'text') textBodySeen = true;
  }
}
